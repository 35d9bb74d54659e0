"""What counts as a safe link: the one rule for redirects after login or preview, and for the
links organizers put in alerts. Pure functions, so services and views share them."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

# Browsers drop tabs and newlines from URLs and read a backslash as a slash, so a target that
# holds either can turn into an address on another site.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LOCAL_URL_MAX = 2000


def is_safe_local_url(target: object) -> bool:
    """Whether a browser would keep `target` on this site: a path of ours, never another host,
    after the browser's own clean-up (backslashes, tabs and newlines, percent-encoding,
    scheme-relative and scheme-only forms such as `//x`, `/\\x`, `https:x`, `javascript:`)."""
    if not isinstance(target, str) or not target or len(target) > LOCAL_URL_MAX:
        return False
    for form in (target, unquote(target)):
        if _CONTROL.search(form):
            return False
        normal = form.replace("\\", "/")
        if not normal.startswith("/") or normal.startswith("//"):
            return False
        parts = urlsplit(normal)
        if parts.scheme or parts.netloc:
            return False
    return True


def safe_local_url(target: object, fallback: str) -> str:
    """`target` when it is a safe local URL, else `fallback`."""
    return target if isinstance(target, str) and is_safe_local_url(target) else fallback


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# What may stand between "https://" and the path: a host name and an optional :443. Anything
# else (user info, percent-encoding, backslashes, spaces, brackets) is refused before parsing,
# because browsers and URL parsers disagree about it.
_NETLOC = re.compile(r"^[^\s%\\@\[\]/?#]+$")


def https_host(target: object) -> str | None:
    """The host of a plain https address ("https://host/..."), lower-case, or None when the
    address is anything else: another scheme, user info, a port other than 443, a host that
    is not a valid DNS name (percent-encoding, backslashes, spaces, empty labels)."""
    if not isinstance(target, str) or len(target) > LOCAL_URL_MAX or _CONTROL.search(target):
        return None
    if "\\" in target or any(ch.isspace() for ch in target):
        return None
    try:
        parts = urlsplit(target)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or port not in (None, 443) or not _NETLOC.match(parts.netloc):
        return None
    host = (parts.hostname or "").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    return host


def is_safe_link(target: object) -> bool:
    """A link an organizer may put in an alert: a page of this app, or an https address."""
    return is_safe_local_url(target) or https_host(target) is not None
