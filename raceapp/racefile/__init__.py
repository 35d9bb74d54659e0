"""The race file: one human-editable TOML file per event (see docs/race-file.md).

Modules by job: `reading` (bytes, encodings, TOML syntax), `schema` (structure and types),
`checks` (meaning, and the normalized race), `lines` (where a field is), `messages` (what the
checker says), `loader` (the steps in order).
"""

from raceapp.racefile.loader import (
    Problem,
    RaceFileReport,
    check_bytes,
    check_file,
    check_text,
)

__all__ = ["Problem", "RaceFileReport", "check_bytes", "check_file", "check_text"]
