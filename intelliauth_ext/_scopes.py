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
from typing import Final

__all__ = ["ScopeMemo", "normalise_scopes"]

#: Immutable scope sets (hashable, safe to key on) that ``ScopeMemo`` remembers.
_MEMO_TYPES: Final = (str, tuple, frozenset)


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


class ScopeMemo:
    """``normalise_scopes`` remembered for the few scope sets an API's routes ask for.

    A resource server normalises the same required scopes on every request; this keeps
    the answer for up to ``max_sets`` immutable sets (a string, a tuple, a frozenset).
    Anything else (a list, a set, a generator) is normalised as it comes.
    """

    def __init__(self, max_sets: int = 64) -> None:
        self._max_sets = max_sets
        self._known: dict[object, tuple[str, ...]] = {}

    def __call__(self, scopes: str | Iterable[str] | None) -> tuple[str, ...]:
        """``normalise_scopes(scopes)``, from memory when it was asked before."""
        if not scopes:
            return ()
        if type(scopes) not in _MEMO_TYPES:
            return normalise_scopes(scopes)
        try:
            known = self._known.get(scopes)
        except TypeError:  # a tuple holding something unhashable: normalise_scopes says what
            return normalise_scopes(scopes)
        if known is None:
            known = normalise_scopes(scopes)
            if len(self._known) < self._max_sets:
                self._known[scopes] = known
        return known
