"""PKCE (RFC 7636): the verifier's alphabet and length, the S256 challenge, the pair."""

from __future__ import annotations

import math
import string

import pytest

from intelliauth_ext import pkce
from intelliauth_ext.pkce import (
    MAX_VERIFIER_LENGTH,
    MIN_VERIFIER_LENGTH,
    PkcePair,
    code_challenge_s256,
    generate_code_verifier,
    validate_code_verifier,
)

UNRESERVED = set(string.ascii_letters + string.digits + "-._~")


def test_rfc7636_appendix_b_vector() -> None:
    """The challenge of the RFC 7636 Appendix B verifier is the one the RFC prints."""
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_default_verifier_is_64_unreserved_characters() -> None:
    """By default a verifier has 64 characters, all from the unreserved set."""
    verifier = generate_code_verifier()
    assert len(verifier) == 64
    assert set(verifier) <= UNRESERVED


@pytest.mark.parametrize("length", [MIN_VERIFIER_LENGTH, 44, 100, MAX_VERIFIER_LENGTH])
def test_verifier_lengths_within_bounds(length: int) -> None:
    """Every length from 43 to 128 gives a valid verifier of that length."""
    verifier = generate_code_verifier(length)
    assert len(verifier) == length
    assert validate_code_verifier(verifier) == verifier


@pytest.mark.parametrize("length", [0, 42, 129, 1000, True])
def test_verifier_lengths_out_of_bounds_are_refused(length: int) -> None:
    """A length outside 43..128 (or a bool) is a ValueError."""
    with pytest.raises(ValueError, match="43 to 128"):
        generate_code_verifier(length)


def test_minimum_length_carries_at_least_256_bits() -> None:
    """Even the shortest verifier carries at least 256 bits of entropy (RFC 7636 section 7.1)."""
    assert MIN_VERIFIER_LENGTH * math.log2(len(UNRESERVED)) >= 256


def test_verifiers_do_not_repeat() -> None:
    """A thousand verifiers are a thousand different strings."""
    assert len({generate_code_verifier() for _ in range(1000)}) == 1000


def test_verifiers_use_the_whole_alphabet() -> None:
    """Over many draws every unreserved character appears (no skewed alphabet)."""
    seen = set("".join(generate_code_verifier(128) for _ in range(200)))
    assert seen == UNRESERVED


@pytest.mark.parametrize(
    "verifier",
    [
        "a" * 42,
        "a" * 129,
        "",
        "a" * 42 + "+",
        "a" * 42 + "/",
        "a" * 42 + "=",
        "a" * 42 + " ",
        "a" * 42 + "é",
    ],
)
def test_invalid_verifiers_are_refused(verifier: str) -> None:
    """A verifier of the wrong length or with a reserved character has no challenge."""
    with pytest.raises(ValueError, match="RFC 7636"):
        code_challenge_s256(verifier)


def test_non_string_verifier_is_a_type_error() -> None:
    """Bytes are not a verifier."""
    with pytest.raises(TypeError):
        validate_code_verifier(b"a" * 43)  # type: ignore[arg-type]


def test_pair_generate_matches_its_challenge() -> None:
    """A generated pair's challenge is the S256 of its verifier, method S256."""
    pair = PkcePair.generate(50)
    assert len(pair.verifier) == 50
    assert pair.challenge == code_challenge_s256(pair.verifier)
    assert pair.method == "S256"


def test_pair_repr_hides_the_verifier() -> None:
    """The verifier is a secret: repr shows the challenge only."""
    pair = PkcePair.from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    assert "dBjftJeZ" not in repr(pair)
    assert "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" in repr(pair)


def test_pair_is_frozen() -> None:
    """A pair is an immutable value."""
    pair = PkcePair.generate()
    with pytest.raises(AttributeError):
        pair.verifier = "x" * 43  # type: ignore[misc]


def test_public_module_exports() -> None:
    """intelliauth_ext.pkce exports exactly the documented names."""
    assert sorted(pkce.__all__) == [
        "MAX_VERIFIER_LENGTH",
        "MIN_VERIFIER_LENGTH",
        "PkcePair",
        "code_challenge_s256",
        "generate_code_verifier",
        "validate_code_verifier",
    ]
