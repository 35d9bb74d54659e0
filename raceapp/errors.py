"""Domain errors: services raise them, views turn them into a clear 4xx message."""

from __future__ import annotations


class DomainError(Exception):
    """A rule said no. `status` is the HTTP status a view should answer with."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class Busy(DomainError):
    """The database stayed locked longer than the busy timeout: nothing was written."""

    status = 503
