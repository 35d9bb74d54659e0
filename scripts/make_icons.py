"""Render the app icons (PNG) from their SVG sources with Chromium, and the iPhone launch
screens (iOS shows them while the installed app starts; it has no manifest splash); the PNGs
are committed.

.venv/bin/python scripts/make_icons.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

from raceapp.web.assets import LAUNCH_SCREEN_SIZES

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
# iPhone launch screens in the colours of the page (static/app.css --bg), so the app opens
# without a flash; their sizes are the ones the pages link (raceapp/web/assets.py).
SPLASH_BACKGROUNDS = {"light": "#f3f4f1", "dark": "#0e1310"}
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
        icon = (ICONS / "maskable.svg").read_text()
        for width, height, ratio in LAUNCH_SCREEN_SIZES:
            for scheme, background in SPLASH_BACKGROUNDS.items():
                page = browser.new_page(
                    viewport={"width": width, "height": height}, device_scale_factor=ratio
                )
                page.set_content(
                    f'<html><body style="margin:0;height:100vh;display:grid;place-items:center;'
                    f'background:{background}"><div style="width:128px;height:128px;'
                    f'border-radius:28px;overflow:hidden">{icon}</div></body></html>'
                )
                page.locator("svg").evaluate(
                    "s => { s.style.width = '100%'; s.style.height = '100%'; }"
                )
                name = f"splash-{width * ratio}x{height * ratio}-{scheme}.png"
                page.screenshot(path=str(ICONS / name))
                page.close()
        browser.close()


if __name__ == "__main__":
    main()
