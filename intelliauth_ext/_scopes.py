"""``normalise_scopes``: the one rule for scopes, wherever they are given or read.

Scopes are a set: RFC 6749 section 3.3 makes the scope parameter a list of
order-independent strings. So the canonical form is a tuple, **sorted**, without
duplicates and without empty entries, and two requests for the same scopes look the same
in a token request, an authorization URL, a cache key or a ``TokenSet``::

    normalise_scopes("users:read openid users:read")  # ("openid", "users:read")
    normalise_scopes(["b", "a,c", ""])                 # ("a", "b", "c")

A string is split on whitespace and on commas; so is each string of a list. RFC 6749
joins scopes with spaces, and no scope can hold one (its appendix A.4); commas are what
environment variables and some providers use (``INTELLIAUTH_SCOPES=users:read,audit:read``).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["normalise_scopes"]


def _split(value: str) -> list[str]:
    return value.replace(",", " ").split()


def normalise_scopes(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """The scopes in ``value``, sorted, without duplicates or empty entries.

    Args:
        value: One string of scopes separated by whitespace or commas, an iterable of
            such strings, or None (no scopes).

    Returns:
        The scopes as a sorted tuple of distinct, non-empty strings.

    Raises:
        TypeError: ``value`` is not a string, an iterable of strings or None.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(sorted(set(_split(value))))
    scopes: set[str] = set()
    for item in value:
        if not isinstance(item, str):
            raise TypeError(
                f"scopes must be a string or an iterable of strings, not {type(item).__name__}"
            )
        scopes.update(_split(item))
    return tuple(sorted(scopes))
