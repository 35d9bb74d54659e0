"""Render the app icons (PNG) from their SVG sources with Chromium; the PNGs are committed.

.venv/bin/python scripts/make_icons.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
# (source, size, output): the sizes Android, iOS and desktop browsers ask for.
RENDERS = [
    ("icon.svg", 192, "icon-192.png"),
    ("icon.svg", 512, "icon-512.png"),
    ("maskable.svg", 512, "maskable-512.png"),
    ("maskable.svg", 180, "apple-touch-icon.png"),  # iOS rounds the corners itself
    ("icon.svg", 96, "badge-96.png"),
    ("icon.svg", 32, "favicon-32.png"),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS
        )
        for source, size, output in RENDERS:
            page = browser.new_page(viewport={"width": size, "height": size})
            svg = (ICONS / source).read_text()
            page.set_content(
                f'<html><body style="margin:0;background:transparent">'
                f'<div style="width:{size}px;height:{size}px">{svg}</div></body></html>'
            )
            page.locator("svg").evaluate(
                "s => { s.style.width = '100%'; s.style.height = '100%'; }"
            )
            page.screenshot(path=str(ICONS / output), omit_background=True)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
