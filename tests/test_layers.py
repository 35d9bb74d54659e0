"""The code keeps its layers: a module imports only from its own layer or the ones below, and
no blueprint imports another (shared helpers live in raceapp.web or raceapp.services)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "raceapp"
BLUEPRINTS = (
    "alerts",
    "auth",
    "demo",
    "devices",
    "events",
    "kit",
    "organizer",
    "preview",
    "races",
    "entries",
    "shuttles",
    "site",
    "devtools",
    "account",
)
# Bottom first. docs/architecture.md draws the same picture.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "raceapp.config",
            "raceapp.clock",
            "raceapp.errors",
            "raceapp.vocabulary",
            "raceapp.links",
            "raceapp.localized",
            "raceapp.i18n",
            "raceapp.zones",
        ),
    ),
    ("extensions", ("raceapp.extensions",)),
    ("data", ("raceapp.models", "raceapp.database")),
    ("race files", ("raceapp.racefile",)),
    ("services", ("raceapp.services",)),
    ("delivery", ("raceapp.push", "raceapp.mail")),
    ("web helpers", ("raceapp.web",)),
    ("blueprints", tuple(f"raceapp.{name}" for name in BLUEPRINTS)),
    ("factory", ("raceapp",)),
]


def layer_of(module: str) -> int:
    """The index of the layer a module belongs to (longest matching prefix wins)."""
    best, found = -1, None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    if found is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return found


def blueprint_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in BLUEPRINTS else None


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str) -> set[str]:
    """Every raceapp module a source imports, at any depth of the file."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("raceapp")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "raceapp":  # `from raceapp import clock`: the submodule
                for alias in node.names:
                    submodule = (PACKAGE / alias.name).exists() or (
                        PACKAGE / f"{alias.name}.py"
                    ).exists()
                    found.add(f"raceapp.{alias.name}" if submodule else "raceapp")
            elif node.module.startswith("raceapp."):
                found.add(node.module)
    return found


def problems(module: str, source: str) -> list[str]:
    """What is wrong with one module's imports."""
    out = []
    own = layer_of(module)
    for imported in sorted(imports_of(source)):
        if layer_of(imported) > own:
            out.append(
                f"{module} ({LAYERS[own][0]}) imports {imported} "
                f"({LAYERS[layer_of(imported)][0]}), a layer above it"
            )
        mine, theirs = blueprint_of(module), blueprint_of(imported)
        if mine and theirs and mine != theirs:
            out.append(f"blueprint {mine} imports blueprint {theirs} ({imported})")
    return out


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_no_module_imports_upward(path):
    assert problems(module_name(path), path.read_text()) == []


@pytest.mark.parametrize(
    "module, source, expected",
    [
        ("raceapp.database", "from raceapp.services.errors import Busy", "a layer above it"),
        ("raceapp.web.http", "from raceapp import create_app", "a layer above it"),
        ("raceapp.services.kit", "from raceapp.web import assets", "a layer above it"),
        (
            "raceapp.kit",
            "def f():\n    from raceapp.shuttles import ticket_qr",
            "imports blueprint",
        ),
        ("raceapp.alerts", "import raceapp.kit", "imports blueprint"),
    ],
)
def test_an_upward_import_is_caught(module, source, expected):
    assert any(expected in problem for problem in problems(module, source))


def test_every_module_has_a_layer():
    for path in MODULES:
        layer_of(module_name(path))
