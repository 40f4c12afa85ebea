"""``shown``: how a value from outside (a token, a document, a callback) appears in a message."""

from __future__ import annotations

import reprlib
from typing import Final

__all__ = ["shown"]

#: Characters of a string, or of any other value's repr, that a message shows.
SHOWN_CHARS: Final = 60


def _bounded_repr(limit: int) -> reprlib.Repr:
    shower = reprlib.Repr()
    shower.maxstring = shower.maxother = shower.maxlong = limit
    shower.maxlist = shower.maxtuple = shower.maxdict = shower.maxset = 4
    shower.maxlevel = 1
    return shower


_SHOWER: Final = _bounded_repr(SHOWN_CHARS)


def shown(value: object) -> str:
    """``repr(value)``, cut in the middle to about ``SHOWN_CHARS`` characters.

    A kid, an issuer or an ``aud`` list from a hostile token or document can be megabytes
    long or nested without end; its repr in an exception message must not be. Never
    raises: a value whose repr fails (an int past Python's 4,300-digit limit) is shown by
    its type.
    """
    try:
        return _SHOWER.repr(value)
    except Exception:  # a message about bad input must not fail on that input
        return f"<{type(value).__name__}>"
