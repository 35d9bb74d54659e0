"""A race's logo, written in its race file: an SVG document, or a data: URI of a PNG, JPEG or
WebP image. Checked here; the app serves it as an image at its own address (never inlined into
a page, so nothing in it can run)."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

MAX_LOGO_BYTES = 64 * 1024
SVG = "image/svg+xml"
# The extension of each type's address (/logos/<slug>.<ext>).
EXTENSIONS = {SVG: "svg", "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
# What each raster type's file begins with: the data: URI's stated type must be what it is.
SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/webp": (b"RIFF",),
}


class LogoProblem(Exception):
    """A logo the app cannot use: `code` names the message (racefile/messages.py)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Logo:
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def version(self) -> str:
        """Its version and extension, "3f2a9c0d1e4b.svg": what the event keeps to link it."""
        return f"{self.sha256[:12]}.{EXTENSIONS[self.content_type]}"


def read_logo(text: str) -> Logo:
    """The logo a race file's `logo` gives, checked; LogoProblem when it cannot be used."""
    text = text.strip()
    if text.startswith("data:"):
        return _from_data_uri(text)
    if text.startswith("<"):
        return _from_svg(text)
    raise LogoProblem("logo-form")


def _from_svg(text: str) -> Logo:
    data = text.encode()
    if len(data) > MAX_LOGO_BYTES:
        raise LogoProblem("logo-too-large", limit="64 KB")
    # No document type: its entities are how an XML file can grow without limit.
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise LogoProblem("logo-not-svg")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        raise LogoProblem("logo-not-svg") from None
    if root.tag != "{http://www.w3.org/2000/svg}svg":
        raise LogoProblem("logo-not-svg")
    return Logo(SVG, data)


def _from_data_uri(text: str) -> Logo:
    if len(text) > MAX_LOGO_BYTES * 4 // 3 + 200:
        raise LogoProblem("logo-too-large", limit="64 KB")
    try:
        # The standard library's own data: URL reader (RFC 2397), base64 or percent-encoded.
        with urllib.request.urlopen(text) as answer:  # noqa: S310 - only data: reaches here
            data = answer.read()
            content_type = answer.headers.get_content_type()
    except (urllib.error.URLError, ValueError):
        raise LogoProblem("logo-form") from None
    if len(data) > MAX_LOGO_BYTES:
        raise LogoProblem("logo-too-large", limit="64 KB")
    if content_type == SVG:
        return _from_svg(data.decode("utf-8", "replace"))
    signatures = SIGNATURES.get(content_type)
    if signatures is None:
        raise LogoProblem("logo-type", type=content_type)
    if not data.startswith(signatures) or (content_type == "image/webp" and data[8:12] != b"WEBP"):
        raise LogoProblem("logo-not-image", type=content_type)
    return Logo(content_type, data)
