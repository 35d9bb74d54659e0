"""Which e-mail addresses can really receive mail (for settings checked at start-up)."""

from __future__ import annotations

from email.utils import parseaddr

# Names reserved for examples and tests (RFC 2606, RFC 6761): nobody receives mail there.
RESERVED = ("example", "invalid", "test", "localhost", "local")


def is_deliverable_address(value: object) -> bool:
    """Whether `value` ("name <a@b.c>" or "a@b.c", optionally "mailto:") is an address on a
    real domain, not a reserved example or a bare host name."""
    if not isinstance(value, str):
        return False
    value = value.removeprefix("mailto:")
    _, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    domain = domain.lower().rstrip(".")
    if not at or not local or "." not in domain:
        return False
    labels = domain.split(".")
    return not any(label in RESERVED for label in (labels[-1], labels[-2]))
