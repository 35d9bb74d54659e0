"""docs/architecture.md matches the code: every module and file it names exists, and every
package of raceapp is on its map."""

from __future__ import annotations

import re

from tests.helpers import ROOT

DOC = (ROOT / "docs" / "architecture.md").read_text()


def test_every_path_it_names_exists():
    paths = set(re.findall(r"`((?:raceapp|static|service_worker|tests)/[\w./-]+)`", DOC))
    assert paths, "the page names no module"
    missing = [p for p in sorted(paths) if not (ROOT / p).exists()]
    assert missing == []


def test_every_package_is_on_the_map():
    packages = {p.parent.name for p in (ROOT / "raceapp").glob("*/__init__.py")}
    missing = [name for name in sorted(packages) if f"raceapp/{name}" not in DOC]
    assert missing == []
