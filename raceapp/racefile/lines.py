"""Which line of a race file holds a field: so that a message points at the entry itself, not at
the line that opens its list. Best effort for the usual layout (docs/race-file.md): tables,
arrays of tables, and lists written one entry per line."""

from __future__ import annotations

import re

_KEY = re.compile(r'^\s*("[^"]*"|[A-Za-z0-9_-]+)\s*=\s*(.*)$')


def _depth_change(text: str) -> int:
    """How much a line opens (+) or closes (-) brackets and braces, strings left out."""
    depth, quote = 0, None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    return depth


def locate_lines(text: str) -> dict[str, int]:
    """Map field paths ("categories[0].checkpoints[3].km", "gear.all.mandatory[2]") to the
    line that holds them."""
    lines: dict[str, int] = {}
    arrays: dict[str, int] = {}  # array-of-tables path -> how many entries so far
    current = ""
    inline: tuple[str, int, int] | None = None  # (array path, entries, bracket depth)
    in_string = False

    def resolve(parts: list[str]) -> str:
        out = ""
        for part in parts:
            out = f"{out}.{part}" if out else part
            if out in arrays:
                out = f"{out}[{arrays[out] - 1}]"
        return out

    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if in_string:
            if stripped.count('"""') % 2 == 1:
                in_string = False
            continue
        if inline is not None:
            path, entries, depth = inline
            # Each entry of a list written one per line starts at the list's own depth.
            if depth == 1 and stripped and not stripped.startswith(("]", "#")):
                lines.setdefault(f"{path}[{entries}]", number)
                entries += 1
            depth += _depth_change(stripped)
            inline = None if depth <= 0 else (path, entries, depth)
            continue
        if stripped.startswith("[["):
            parts = [p.strip().strip('"') for p in stripped[2:].split("]]")[0].split(".")]
            parent = resolve(parts[:-1])
            key = f"{parent}.{parts[-1]}" if parent else parts[-1]
            arrays[key] = arrays.get(key, 0) + 1
            current = f"{key}[{arrays[key] - 1}]"
            lines.setdefault(current, number)
            lines.setdefault(key, number)
        elif stripped.startswith("["):
            parts = [p.strip().strip('"') for p in stripped[1:].split("]")[0].split(".")]
            current = resolve(parts)
            lines.setdefault(current, number)
        else:
            match = _KEY.match(stripped)
            if not match or stripped.startswith("#"):
                continue
            key, value = match.group(1).strip('"'), match.group(2)
            full = f"{current}.{key}" if current else key
            lines.setdefault(full, number)
            if value.count('"""') % 2 == 1:
                in_string = True
            depth = _depth_change(value)
            if value.startswith("[") and depth > 0:
                # A list continued on the next lines: entries first come on those lines.
                inside = value[1:].strip()
                entries = 0
                if inside and not inside.startswith("#"):
                    lines.setdefault(f"{full}[0]", number)
                    entries = 1
                inline = (full, entries, depth)
    return lines


def line_for(path: str, lines: dict[str, int]) -> int | None:
    """The line of a field, else of the nearest entry or table that holds it."""
    probe = path
    while probe:
        if probe in lines:
            return lines[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return None
