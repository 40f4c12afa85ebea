"""``SigningKey``: an asymmetric private key that signs JWTs and never shows itself.

The one place the SDK holds a private key: the client's ``private_key_jwt`` key (RFC 7523
section 2.2) and, through ``DPoPKey``, the DPoP key (RFC 9449). Keys come from a PEM
(PKCS#8 or the traditional formats), a JWK (a dict or its JSON text), or are generated;
signing is joserfc's (``joserfc.jwt.encode``), never a hand-rolled JWS.

=============  ===========================  ==========================================
algorithm      key                          default for
=============  ===========================  ==========================================
``RS256``      RSA, 2048 bits or more       an RSA key without a JWK ``alg``
``PS256``      RSA, 2048 bits or more       (ask for it: FAPI 2.0 profiles prefer it)
``ES256``      EC P-256                     a P-256 key (``ES384``/``ES512``: P-384/521)
``EdDSA``      OKP Ed25519 or Ed448         an OKP key
=============  ===========================  ==========================================

Like ``_secret.Secret``, a ``SigningKey`` has ``__slots__`` (``vars()`` raises), a
``repr`` with the algorithm, ``kid`` and public thumbprint only, refuses to be pickled,
and its loading errors never carry the key text (they are raised ``from None``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, NoReturn, Self, TypeAlias

if TYPE_CHECKING:
    # joserfc (and cryptography under it) loads with the first key: a client that only
    # sends Bearer tokens with a secret never imports it.
    from joserfc.jwk import ECKey, OKPKey, RSAKey

    _Key: TypeAlias = RSAKey | ECKey | OKPKey

__all__ = [
    "SIGNING_ALGORITHMS",
    "PrivateKeyInput",
    "SigningKey",
    "load_signing_key",
]

#: The JWS algorithms a ``SigningKey`` signs with, by the key type (and curve) each needs.
SIGNING_ALGORITHMS: Final[Mapping[str, tuple[str, str | None]]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", None),
}
_DEFAULT_ALG_BY_CURVE: Final = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
#: NIST SP 800-131A: RSA keys below 2048 bits are not acceptable for signatures.
_MIN_RSA_BITS: Final = 2048


def _default_alg(key: _Key) -> str:
    from joserfc.jwk import ECKey, RSAKey

    if isinstance(key, RSAKey):
        return "RS256"
    if isinstance(key, ECKey):
        curve = str(key.get("crv"))
        if curve not in _DEFAULT_ALG_BY_CURVE:
            raise ValueError(f"EC curve {curve!r} is not one of P-256, P-384, P-521")
        return _DEFAULT_ALG_BY_CURVE[curve]
    curve = str(key.get("crv"))
    if curve not in ("Ed25519", "Ed448"):
        raise ValueError(f"OKP curve {curve!r} can not sign (Ed25519 or Ed448 can)")
    return "EdDSA"


def _check_alg(key: _Key, alg: str) -> None:
    from joserfc.jwk import RSAKey

    if alg not in SIGNING_ALGORITHMS:
        known = ", ".join(SIGNING_ALGORITHMS)
        raise ValueError(f"unsupported signing algorithm {alg!r}; supported: {known}")
    key_type, curve = SIGNING_ALGORITHMS[alg]
    if key.key_type != key_type:
        raise ValueError(f"{alg} needs an {key_type} key, not an {key.key_type} key")
    if curve is not None and key.get("crv") != curve:
        raise ValueError(f"{alg} needs a {curve} key, not {key.get('crv')}")
    if alg == "EdDSA":
        _default_alg(key)  # raises for an X25519/X448 (key agreement) key
    if isinstance(key, RSAKey):
        bits = key.public_key.key_size
        if bits < _MIN_RSA_BITS:
            raise ValueError(f"an RSA key of {bits} bits is too short (2048 at least)")


def _import(data: str | bytes | Mapping[str, Any]) -> _Key:
    """The joserfc key of a PEM or JWK; ValueError (without the key text) otherwise."""
    from joserfc.errors import JoseError, SecurityWarning
    from joserfc.jwk import ECKey, JWKRegistry, OKPKey, RSAKey

    if isinstance(data, bytes):
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError:
            raise ValueError("the private key is neither a PEM nor a JWK (not ASCII)") from None
    if isinstance(data, str):
        text = data.strip()
        if text.startswith("{"):
            try:
                parsed = json.loads(text)
            except ValueError:
                raise ValueError("the private key looks like a JWK but is not JSON") from None
            if not isinstance(parsed, dict):
                raise ValueError("the private key JWK is not a JSON object")
            data = parsed
        elif "-----BEGIN" in text:
            return _import_pem(text)
        else:
            raise ValueError("the private key is neither a PEM nor a JWK")
    if not isinstance(data, Mapping):
        raise TypeError(f"a private key is a PEM, a JWK or a SigningKey, not {type(data).__name__}")
    jwk = dict(data)
    key_type = jwk.get("kty")
    if key_type not in ("RSA", "EC", "OKP"):
        raise ValueError(f"the private key JWK has kty {str(key_type)[:10]!r}; need RSA, EC or OKP")
    try:
        with warnings.catch_warnings():
            # joserfc warns of short RSA keys; _check_alg refuses them with a ValueError.
            warnings.simplefilter("ignore", SecurityWarning)
            key = JWKRegistry.import_key(jwk, key_type)
    except (JoseError, ValueError, TypeError):
        raise ValueError(f"the {key_type} private key JWK can not be loaded") from None
    if not isinstance(key, RSAKey | ECKey | OKPKey):  # pragma: no cover - by the kty check
        raise ValueError("the private key JWK is not an asymmetric key")
    return key


def _import_pem(text: str) -> _Key:
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from joserfc.jwk import ECKey, OKPKey, RSAKey

    try:
        native = load_pem_private_key(text.encode("ascii"), password=None)
    except (ValueError, TypeError):
        raise ValueError(
            "the PEM is not an unencrypted private key (a public key or certificate, an "
            "encrypted key, or damaged)"
        ) from None
    if isinstance(native, rsa.RSAPrivateKey):
        if native.key_size < _MIN_RSA_BITS:
            raise ValueError(f"an RSA key of {native.key_size} bits is too short (2048 at least)")
        return RSAKey.import_key(native)
    if isinstance(native, ec.EllipticCurvePrivateKey):
        return ECKey.import_key(native)
    if isinstance(native, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return OKPKey.import_key(native)
    raise ValueError(f"a {type(native).__name__} can not sign JWTs here")


class SigningKey:
    """A private key and the JWS algorithm it signs with; ``repr`` shows no key material.

    Make one with ``generate``, ``from_pem`` or ``from_jwk``; where the SDK takes a
    ``private_key=`` it also takes the PEM or JWK itself.

    Attributes:
        alg: The JWS algorithm (``ES256``, ``PS256``, ...).
        kid: The ``kid`` header of what it signs, or None.
    """

    __slots__ = ("_key", "_public_jwk", "_thumbprint", "alg", "kid")
    _key: _Key
    _public_jwk: dict[str, Any]
    _thumbprint: str
    alg: str
    kid: str | None

    def __init__(self, key: _Key, *, alg: str | None = None, kid: str | None = None) -> None:
        from joserfc.jwk import ECKey, OKPKey, RSAKey

        if not isinstance(key, RSAKey | ECKey | OKPKey) or not key.is_private:
            raise ValueError("a SigningKey needs an RSA, EC or OKP private key")
        chosen = alg or _jwk_alg(key) or _default_alg(key)
        _check_alg(key, chosen)
        if kid is not None and not kid:
            raise ValueError("key_id must not be empty")
        public = {
            name: value
            for name, value in key.as_dict(private=False).items()
            if name in ("kty", "crv", "x", "y", "n", "e")
        }
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_public_jwk", public)
        object.__setattr__(self, "_thumbprint", key.thumbprint())
        object.__setattr__(self, "alg", chosen)
        object.__setattr__(self, "kid", kid)

    @classmethod
    def generate(cls, alg: str = "ES256", *, kid: str | None = None) -> Self:
        """A new random key for ``alg`` (RSA keys are 2048 bits, EdDSA keys Ed25519).

        Raises:
            ValueError: An unsupported ``alg``.
        """
        from joserfc.jwk import ECKey, OKPKey, RSAKey

        if alg not in SIGNING_ALGORITHMS:
            known = ", ".join(SIGNING_ALGORITHMS)
            raise ValueError(f"unsupported signing algorithm {alg!r}; supported: {known}")
        key_type, curve = SIGNING_ALGORITHMS[alg]
        key: _Key
        if key_type == "RSA":
            key = RSAKey.generate_key(_MIN_RSA_BITS)
        elif key_type == "EC":
            key = ECKey.generate_key(curve or "P-256")
        else:
            key = OKPKey.generate_key("Ed25519")
        return cls(key, alg=alg, kid=kid)

    @classmethod
    def from_pem(cls, pem: str | bytes, *, alg: str | None = None, kid: str | None = None) -> Self:
        """Load an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1).

        Args:
            pem: The PEM text.
            alg: The algorithm; by default the key type's (see the module docstring).
            kid: The ``kid`` header to sign with.

        Raises:
            ValueError: Not a private key, or one ``alg`` can not use (the message never
                holds the key).
        """
        if isinstance(pem, str | bytes) and "-----BEGIN" not in (
            pem if isinstance(pem, str) else pem.decode("ascii", "replace")
        ):
            raise ValueError("from_pem needs PEM text (-----BEGIN ... PRIVATE KEY-----)")
        return cls(_import(pem), alg=alg, kid=kid)

    @classmethod
    def from_jwk(
        cls, jwk: str | Mapping[str, Any], *, alg: str | None = None, kid: str | None = None
    ) -> Self:
        """Load a private JWK (a dict or its JSON); its ``alg`` and ``kid`` are used if set.

        Raises:
            ValueError: Not a private RSA, EC or OKP JWK, or one ``alg`` can not use.
        """
        key = _import(jwk)
        jwk_kid = key.get("kid")
        return cls(key, alg=alg, kid=kid if kid is not None else _str_or_none(jwk_kid))

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK (only ``kty`` and its public members)."""
        return dict(self._public_jwk)

    @property
    def thumbprint(self) -> str:
        """The RFC 7638 JWK SHA-256 thumbprint of the public key, base64url."""
        return self._thumbprint

    def sign(self, claims: Mapping[str, Any], *, header: Mapping[str, Any] | None = None) -> str:
        """A compact JWS of ``claims``, signed with this key and ``alg`` (by joserfc).

        Args:
            claims: The JWT claims.
            header: More protected header members (``typ``, ``jwk``); ``alg`` and ``kid``
                are this key's.
        """
        from joserfc import jwt
        from joserfc.errors import SecurityWarning

        protected: dict[str, Any] = {"typ": "JWT", **(header or {}), "alg": self.alg}
        if self.kid is not None and "jwk" not in protected:  # a DPoP proof names its key
            protected["kid"] = self.kid
        with warnings.catch_warnings():
            # joserfc flags EdDSA as deprecated by RFC 9864 (for Ed25519); providers,
            # oidc-provider among them, still name the algorithm EdDSA.
            warnings.simplefilter("ignore", SecurityWarning)
            return jwt.encode(protected, dict(claims), self._key, algorithms=[self.alg])

    def secret_digest(self, context: bytes) -> str:
        """An HMAC-SHA256 of ``context`` keyed by the private key (a cache-key fingerprint).

        Only a holder of the private key computes it; it reveals nothing of the key.
        """
        private = json.dumps(self._key.as_dict(private=True), sort_keys=True).encode()
        material = hashlib.sha256(private).digest()
        return hmac.new(material, context, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(alg={self.alg!r}, kid={self.kid!r}, "
            f"thumbprint={self._thumbprint!r})"
        )

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"a {type(self).__name__} can not be changed")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"a {type(self).__name__} can not be changed")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a private key can not be pickled: keep it in your secret store")

    def __copy__(self) -> SigningKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SigningKey:
        return self


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _jwk_alg(key: _Key) -> str | None:
    return _str_or_none(key.get("alg"))


#: What ``private_key=`` takes: a PEM (str or bytes), a JWK (dict or JSON), or a key.
PrivateKeyInput: TypeAlias = str | bytes | Mapping[str, Any] | SigningKey


def load_signing_key(private_key: PrivateKeyInput, *, key_id: str | None = None) -> SigningKey:
    """The ``SigningKey`` of a ``private_key=`` argument, with ``key_id`` as its ``kid``.

    Raises:
        ValueError: Not a usable private key (the message never holds the key).
        TypeError: Not a PEM, JWK or ``SigningKey``.
    """
    if isinstance(private_key, SigningKey):
        if key_id is None or key_id == private_key.kid:
            return private_key
        return SigningKey(private_key._key, alg=private_key.alg, kid=key_id)
    key = _import(private_key)
    kid = key_id if key_id is not None else _str_or_none(key.get("kid"))
    return SigningKey(key, kid=kid)
