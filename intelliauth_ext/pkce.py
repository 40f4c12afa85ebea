"""PKCE (RFC 7636), public: ``generate_code_verifier``, ``code_challenge_s256``, ``PkcePair``."""

from intelliauth_ext._pkce import (
    MAX_VERIFIER_LENGTH,
    MIN_VERIFIER_LENGTH,
    PkcePair,
    code_challenge_s256,
    generate_code_verifier,
    validate_code_verifier,
)

__all__ = [
    "MAX_VERIFIER_LENGTH",
    "MIN_VERIFIER_LENGTH",
    "PkcePair",
    "code_challenge_s256",
    "generate_code_verifier",
    "validate_code_verifier",
]
