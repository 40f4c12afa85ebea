"""``Secret``: a credential held by an SDK object, shown as ``'[REDACTED]'`` everywhere.

The client, the token managers and the browser flow keep their client secret (and a
rejected token, a prepared ``Authorization`` value) in a ``Secret``, so that ``repr``,
``str``, ``vars(obj)``, a debugger's variable view and a formatted traceback all show
``Secret('[REDACTED]')``. The one place that sends the credential calls ``reveal()``.

=================  ===============================================================
operation          behaviour
=================  ===============================================================
``repr`` / ``str``  ``Secret('[REDACTED]')`` / ``[REDACTED]`` (an f-string too)
``vars(secret)``   ``TypeError``: ``__slots__``, there is no ``__dict__`` to show
``==``             with another ``Secret`` only, in constant time (``hmac``)
``hash``           unhashable, like a mutable value: a hash is a cheap oracle
``bool``           whether the value is non-empty
``pickle``         refused (``TypeError``): a pickle would hold the value in clear,
                   and a redacted pickle would come back as a wrong credential
``copy``           the same object (it is immutable)
=================  ===============================================================
"""

from __future__ import annotations

import hmac
from typing import Any, Final, NoReturn, final

__all__ = ["REDACTED_REPR", "Secret"]

#: What ``repr`` of a hidden value prints (the same as ``TokenSet``'s ``repr``).
REDACTED_REPR: Final = "'[REDACTED]'"


@final
class Secret:
    """A secret string that never shows itself; ``reveal()`` returns it.

    Args:
        value: The secret.

    Raises:
        TypeError: ``value`` is not a ``str``.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"a Secret holds a str, got {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The secret itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED_REPR})"

    def __str__(self) -> str:
        return "[REDACTED]"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    __hash__ = None  # type: ignore[assignment]

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("a Secret can not be changed")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("a Secret can not be changed")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a Secret can not be pickled: keep the credential in your secret store")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self
