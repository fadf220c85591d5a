"""The protocol's app codes, and the HTTP status each travels with.

The cloud answers errors as ``{"code": N, "message": …}``; SKILL.md's error table says what
a client does for each code, and the client reads that table at run time. The engine needs
the codes to *raise* them: one enum here instead of literal numbers in every endpoint.
"""
from __future__ import annotations

import enum


class AppCode(enum.IntEnum):
    """An app error code; ``http_status`` is the HTTP status it is sent with."""

    BAD_REQUEST = 400
    PAYMENT_REQUIRED = 402     # export without attribution headers: the plan gate
    NOT_FOUND = 404            # a render id that is not the caller's (not 1002: that means "new project")
    CONFLICT = 409
    GONE = 410
    RATE_LIMITED = 429
    INTERNAL = 500
    TOKEN_INVALID = 1001       # missing/expired token: get a new anonymous token
    SESSION_NOT_FOUND = 1002   # unknown or not yours: start a new session
    OUT_OF_CREDITS = 2001      # register to get more
    UNSUPPORTED_FILE = 4001
    FILE_TOO_LARGE = 4002

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self, int(self) if int(self) < 600 else 400)


_HTTP_STATUS = {AppCode.TOKEN_INVALID: 401, AppCode.SESSION_NOT_FOUND: 404, AppCode.OUT_OF_CREDITS: 403,
                AppCode.UNSUPPORTED_FILE: 415, AppCode.FILE_TOO_LARGE: 413}
