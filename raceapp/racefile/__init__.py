"""The race file: one human-editable TOML file per event (see docs/race-file.md)."""

from raceapp.racefile.loader import Problem, RaceFileReport, check_file, check_text

__all__ = ["Problem", "RaceFileReport", "check_file", "check_text"]
