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


def is_safe_link(target: object) -> bool:
    """A link an organizer may put in an alert: a page of this app, or an https address."""
    if is_safe_local_url(target):
        return True
    if not isinstance(target, str) or len(target) > LOCAL_URL_MAX:
        return False
    if _CONTROL.search(target) or "\\" in target:
        return False
    try:
        parts = urlsplit(target)
        return parts.scheme == "https" and bool(parts.hostname) and parts.port in (None, 443)
    except ValueError:
        return False
