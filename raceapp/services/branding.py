"""A race's own colour on its pages, kept within contrast limits: white text on it, and it as
text on the page's surfaces, meet WCAG AA (4.5:1) in the light and the dark theme. A colour
that does not is darkened (or, as text in the dark theme, lightened) until it does."""

from __future__ import annotations

import colorsys
import hashlib
import re
from base64 import b64encode
from dataclasses import dataclass
from functools import lru_cache

AA = 4.5
WHITE = "#ffffff"
# The amber of "app" in the wordmark (static/app.css: --accent); large bold text needs 3:1.
ACCENT = "#f59e0b"
LARGE_TEXT = 3.0
# The surfaces text sits on (static/app.css: --card and --bg), light and dark theme.
LIGHT_SURFACES = ("#ffffff", "#f3f4f1")
DARK_SURFACES = ("#18201b", "#0e1310")
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Brand:
    """The stylesheet's brand tokens for one race colour."""

    fill: str  # backgrounds with white text: the header, primary buttons (both themes)
    text_light: str  # links and brand text on light surfaces
    text_dark: str  # the same on dark surfaces
    mark: str  # the "app" of the wordmark on the header: amber where it stands out, else white

    def css(self) -> str:
        """The tokens as a style sheet for the race's pages."""
        return (
            f":root{{--brand:{self.fill};--brand-text:{self.text_light};"
            f"--link:{self.text_light};--brand-mark:{self.mark}}}"
            "@media (prefers-color-scheme: dark){"
            f":root{{--brand:{self.fill};--brand-text:{self.text_dark};--link:{self.text_dark}}}}}"
        )

    def csp_hash(self) -> str:
        """The Content-Security-Policy source that allows exactly this inline style."""
        digest = hashlib.sha256(self.css().encode()).digest()
        return f"'sha256-{b64encode(digest).decode()}'"


def _rgb(colour: str) -> tuple[float, float, float]:
    """The channels of a #rrggbb colour, 0 to 1."""
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return r, g, b


def _luminance(colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = _rgb(colour)
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (#rrggbb), 1 to 21."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _with_lightness(colour: str, lightness: float) -> str:
    hue, _, saturation = colorsys.rgb_to_hls(*_rgb(colour))
    r, g, b = colorsys.hls_to_rgb(hue, max(0.0, min(1.0, lightness)), saturation)
    return "#" + "".join(f"{round(v * 255):02x}" for v in (r, g, b))


def _until(colour: str, against: tuple[str, ...], step: float) -> str:
    """The colour, darkened (step < 0) or lightened (step > 0) in its own hue until it reaches
    AA against every surface given."""
    lightness = colorsys.rgb_to_hls(*_rgb(colour))[1]
    candidate = colour.lower()
    while min(contrast(candidate, surface) for surface in against) < AA:
        lightness += step
        candidate = _with_lightness(colour, lightness)
        if not 0 <= lightness <= 1:
            return "#000000" if step < 0 else "#ffffff"
    return candidate


@lru_cache(maxsize=64)
def brand(colour: str) -> Brand:
    """The race colour as brand tokens that meet AA in both themes (worked out once per colour:
    every page of a race asks)."""
    if not HEX.match(colour):
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    fill = _until(colour, (WHITE,), -0.01)
    return Brand(
        fill=fill,
        text_light=_until(colour, LIGHT_SURFACES, -0.01),
        text_dark=_until(colour, DARK_SURFACES, +0.01),
        mark=ACCENT if contrast(ACCENT, fill) >= LARGE_TEXT else WHITE,
    )
