"""QR codes as inline SVG: no image request, so they show offline."""

from __future__ import annotations

import io

import segno
from markupsafe import Markup


def qr_svg(data: str, title: str) -> Markup:
    """A self-contained SVG of `data` as a QR code (segno escapes the title)."""
    buffer = io.BytesIO()
    segno.make(data, error="m").save(
        buffer,
        kind="svg",
        scale=6,
        border=2,
        xmldecl=False,
        svgns=True,
        title=title,
        dark="#111827",
        # Its own white ground and quiet zone: scanners need dark on light, also in dark mode.
        light="#ffffff",
    )
    return Markup(buffer.getvalue().decode())
