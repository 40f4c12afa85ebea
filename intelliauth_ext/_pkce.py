"""PKCE, Proof Key for Code Exchange (RFC 7636): the code verifier and its S256 challenge.

::

    pair = PkcePair.generate()
    authorize_url_params = {"code_challenge": pair.challenge, "code_challenge_method": "S256"}
    ...  # later, in the token request: code_verifier=pair.verifier

Only ``S256`` is offered: RFC 7636 section 4.2 allows ``plain`` solely for clients that
can not hash, which no Python client is.
"""

from __future__ import annotations

import base64
import hashlib
import operator
import secrets
import string
from typing import Final, Literal, SupportsIndex

import attrs

from intelliauth_ext._shown import shown

__all__ = [
    "MAX_VERIFIER_LENGTH",
    "MIN_VERIFIER_LENGTH",
    "PkcePair",
    "code_challenge_s256",
    "generate_code_verifier",
    "validate_code_verifier",
]

#: RFC 7636 section 4.1: ``code-verifier = 43*128unreserved``.
MIN_VERIFIER_LENGTH: Final = 43
MAX_VERIFIER_LENGTH: Final = 128
#: RFC 3986 section 2.3 unreserved characters: ``ALPHA / DIGIT / "-" / "." / "_" / "~"``.
UNRESERVED: Final = string.ascii_letters + string.digits + "-._~"
_UNRESERVED_SET: Final = frozenset(UNRESERVED)


def validate_code_verifier(verifier: str) -> str:
    """Check that ``verifier`` is a well-formed RFC 7636 code verifier and return it.

    Raises:
        ValueError: Not 43 to 128 characters long, or a character outside the unreserved set.
        TypeError: ``verifier`` is not a ``str``.
    """
    if not isinstance(verifier, str):
        raise TypeError(f"a code verifier is a str, not {type(verifier).__name__}")
    if not MIN_VERIFIER_LENGTH <= len(verifier) <= MAX_VERIFIER_LENGTH:
        raise ValueError(
            f"a code verifier has {MIN_VERIFIER_LENGTH} to {MAX_VERIFIER_LENGTH} characters "
            f"(RFC 7636 section 4.1), got {len(verifier)}"
        )
    if not _UNRESERVED_SET.issuperset(verifier):
        raise ValueError(
            "a code verifier uses only A-Z, a-z, 0-9 and '-', '.', '_', '~' (RFC 7636 section 4.1)"
        )
    return verifier


def generate_code_verifier(length: int = 64) -> str:
    """A fresh random code verifier.

    Each character is drawn by ``secrets.choice`` from the 66 unreserved characters, so a
    verifier carries ``length * log2(66)`` bits: 260 at the minimum length of 43, 387 at the
    default of 64, above the 256 bits RFC 7636 section 7.1 recommends.

    Args:
        length: 43 to 128 characters.

    Returns:
        The verifier.

    Raises:
        ValueError: ``length`` is not a whole number from 43 to 128 (a float such as
            ``43.5``, a bool, a string or ``None`` included).
    """
    return "".join(secrets.choice(UNRESERVED) for _ in range(_verifier_length(length)))


def _verifier_length(length: object) -> int:
    """``length`` as an int in 43..128; ValueError for anything else, whatever its type."""
    # Ints and int-like objects (numpy integers) have __index__; 43.5, "64" and None do not.
    number = (
        operator.index(length)
        if isinstance(length, SupportsIndex) and not isinstance(length, bool)
        else None
    )
    if number is None or not MIN_VERIFIER_LENGTH <= number <= MAX_VERIFIER_LENGTH:
        raise ValueError(
            f"a code verifier has {MIN_VERIFIER_LENGTH} to {MAX_VERIFIER_LENGTH} characters, "
            f"got length={shown(length)}"
        )
    return number


def code_challenge_s256(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))`` without padding (RFC 7636 section 4.2).

    Raises:
        ValueError: ``verifier`` is not a well-formed code verifier.
    """
    validate_code_verifier(verifier)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@attrs.frozen
class PkcePair:
    """A code verifier and its challenge; ``repr`` hides the verifier.

    Attributes:
        verifier: The secret sent with the token request.
        challenge: The value sent with the authorization request.
        method: Always ``S256``.
    """

    verifier: str = attrs.field(repr=False)
    challenge: str
    method: Literal["S256"] = "S256"

    @classmethod
    def generate(cls, length: int = 64) -> PkcePair:
        """A fresh verifier of ``length`` characters and its S256 challenge."""
        verifier = generate_code_verifier(length)
        return cls(verifier=verifier, challenge=code_challenge_s256(verifier))

    @classmethod
    def from_verifier(cls, verifier: str) -> PkcePair:
        """The pair for an existing verifier (for example one restored from a session)."""
        return cls(verifier=verifier, challenge=code_challenge_s256(verifier))
