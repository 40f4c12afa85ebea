"""JWT verification: ID tokens and JWT access tokens of one provider.

::

    verifier = TokenVerifier("https://acme.intelliauth.io")
    claims = await verifier.verify_access_token(token, audience="https://api.acme.dev",
                                                required_scopes=["users:read"])

The provider's discovery document (``_discovery.py``) and key set are fetched once and
cached; the key set is fetched again when a token names an unknown ``kid`` (at most once
a minute, see ``_jwks.py``). Both fetches are shared by concurrent callers, take at most
``fetch_timeout`` seconds, and after a failure are answered without a request for 1, 2,
4 ... up to 60 s (``_shared_fetch.py``); the last good key set keeps verifying tokens
while a re-fetch fails. A discovery document or key set that can not be had, or is
hostile, raises an ``IntelliAuthError`` that is not a ``TokenValidationError``
(``APIConnectionError``, ``APIStatusError``, ``APIResponseValidationError``,
``InsecureURLError``): the token is not to blame, answer 503.

The checks, in order, each failing with a ``TokenValidationError`` whose ``check`` names it:

``format``      three base64url parts, a JSON header and a JSON object payload (no JWE)
``algorithm``   never ``none``, never an HMAC algorithm (the keys are public: RFC 8725
                section 2.1 and 3.1), and only the allowed algorithms: those given, or the
                metadata's ``id_token_signing_alg_values_supported``, or ``RS256``
``type``        ``typ`` is ``at+jwt`` when asked (RFC 9068 section 4); never for ID tokens
``key``         a key of the provider's set fits the ``kid`` and ``alg``
``signature``   the signature verifies with that key (joserfc does the cryptography)
``issuer``      ``iss`` is exactly the provider's issuer
``audience``    ``aud`` (a string or a list) holds the audience; for an ID token with several
                audiences, ``azp`` is present and is the client id (OIDC Core 3.1.3.7)
``expiry``      ``exp`` is present and not past, give or take ``leeway``
``not_before``  ``nbf``, when present, is not in the future beyond ``leeway``
``issued_at``   ``iat`` (required in ID tokens) is a number not in the future beyond ``leeway``
``nonce``       the ID token's ``nonce`` equals the one sent (constant-time comparison)
``at_hash``     the ID token's ``at_hash``, when present and the access token is given, is
                the left-most half of the hash of the access token's ASCII octets,
                base64url-encoded (OIDC Core 3.1.3.6, 3.2.2.9)
``c_hash``      likewise ``c_hash`` and the authorization code (OIDC Core 3.3.2.11); the
                hash is the alg's: SHA-256 for RS256/PS256/ES256, SHA-384 and SHA-512 for
                the 384 and 512 variants, SHA-512 for Ed25519 (the OIDC errata's choice
                for EdDSA over Ed25519, which common providers follow)
``scope``       every required scope is in ``scope`` (a string) or ``scp`` (a string or a
                list), both read with ``normalise_scopes``

An access token bound to a DPoP key (``cnf.jkt``) passes only with a valid DPoP proof for
the request, and a proof only goes with a bound token (``_dpop_proof_check.py``: checks
``dpop_binding``, ``dpop_proof``, ``dpop_nonce``), checked before the scopes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final, TypeAlias

import attrs
import httpx
from joserfc.errors import JoseError
from joserfc.jws import CompactSignature, JWSRegistry, extract_compact, validate_compact

from intelliauth_ext._clock import Clock, SystemClock
from intelliauth_ext._discovery import DiscoveryCache, ProviderMetadata
from intelliauth_ext._dpop_proof_check import DPoPProofChecker
from intelliauth_ext._errors import InsecureURLError, TokenValidationError
from intelliauth_ext._json import json_object
from intelliauth_ext._jwks import DEFAULT_JWKS_REFRESH_INTERVAL, JwksCache
from intelliauth_ext._scopes import ScopeMemo, normalise_scopes
from intelliauth_ext._shared_fetch import DEFAULT_FETCH_TIMEOUT
from intelliauth_ext._shown import shown
from intelliauth_ext._signing_key import SIGNING_ALGORITHMS
from intelliauth_ext._urls import require_secure_url

__all__ = [
    "DEFAULT_LEEWAY",
    "DEFAULT_VERIFIED_CACHE_SIZE",
    "MAX_CACHED_TOKEN_LENGTH",
    "SUPPORTED_ALGORITHMS",
    "TokenVerifier",
    "VerifiedToken",
]

#: Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
DEFAULT_LEEWAY: Final = 30.0
#: Asymmetric JWS algorithms this module verifies (RFC 7518, RFC 8037 via RFC 9864).
#: (the signing algorithms of ``_signing_key``, EdDSA under its fully specified name only).
SUPPORTED_ALGORITHMS: Final = (frozenset(SIGNING_ALGORITHMS) - {"EdDSA"}) | {"Ed25519"}
#: Access tokens whose signature verified, remembered by a verifier (see ``TokenVerifier``).
DEFAULT_VERIFIED_CACHE_SIZE: Final = 1024
#: Longer tokens are never cached: the cache holds at most 1024 x 8 KiB of tokens.
MAX_CACHED_TOKEN_LENGTH: Final = 8192
# Distinct scope claims whose scope sets are remembered per verifier.
_MAX_SCOPE_SETS: Final = 64
# Parsing only (no algorithm is checked with it): made once, not per call.
_PARSING_REGISTRY: Final = JWSRegistry(strict_check_header=False)
_DEFAULT_ID_TOKEN_ALGORITHMS: Final = ("RS256",)  # OIDC Discovery: RS256 MUST be supported
#: The hash of ``at_hash`` and ``c_hash`` for each algorithm (OIDC Core 3.1.3.6): the one
#: of the JWS algorithm; SHA-512 for Ed25519, as the OIDC Core errata set for EdDSA.
_TOKEN_HASHES: Final[Mapping[str, Callable[[bytes], Any]]] = {
    "RS256": hashlib.sha256,
    "PS256": hashlib.sha256,
    "ES256": hashlib.sha256,
    "RS384": hashlib.sha384,
    "PS384": hashlib.sha384,
    "ES384": hashlib.sha384,
    "RS512": hashlib.sha512,
    "PS512": hashlib.sha512,
    "ES512": hashlib.sha512,
    "Ed25519": hashlib.sha512,
    "EdDSA": hashlib.sha512,
}


@attrs.frozen
class VerifiedToken:
    """A JWT that passed every check.

    Attributes:
        header: The JOSE header.
        claims: The payload claims.
    """

    header: Mapping[str, Any] = attrs.field(repr=False)
    claims: Mapping[str, Any]

    @property
    def subject(self) -> str | None:
        """The ``sub`` claim."""
        sub = self.claims.get("sub")
        return sub if isinstance(sub, str) else None

    @property
    def scopes(self) -> frozenset[str]:
        """The granted scopes, from ``scope`` (a string) and ``scp`` (a string or a list)."""
        return _token_scopes(self.claims)

    @property
    def expires_at(self) -> float | None:
        """The ``exp`` claim."""
        return _number(self.claims.get("exp"))

    def __getitem__(self, name: str) -> Any:
        return self.claims[name]


def _number(value: object) -> float | None:
    """A finite JSON number as a float; None for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _token_scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    """The scopes of ``scope`` and ``scp`` together, as a set for membership checks."""
    granted: list[str] = []
    scope = claims.get("scope")
    if isinstance(scope, str):  # RFC 9068 section 2.2.3: a space-separated string
        granted.append(scope)
    scp = claims.get("scp")
    if isinstance(scp, str):
        granted.append(scp)
    elif isinstance(scp, list):  # the list form some providers use
        granted.extend(item for item in scp if isinstance(item, str))
    return frozenset(normalise_scopes(granted))


def token_hash(value: str, alg: str) -> str:
    """The ``at_hash`` / ``c_hash`` of ``value`` for a token signed with ``alg``.

    OIDC Core 3.1.3.6: hash the ASCII octets of the value with the hash of the JWS
    algorithm, take the left-most half, and base64url-encode it without padding.

    Raises:
        ValueError: ``alg`` has no hash defined here.
    """
    hash_function = _TOKEN_HASHES.get(alg)
    if hash_function is None:
        raise ValueError(f"no at_hash/c_hash is defined for {alg}")
    digest: bytes = hash_function(value.encode("utf-8", "surrogatepass")).digest()
    half = digest[: len(digest) // 2]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode("ascii")


def _check_token_hash(claims: Mapping[str, Any], claim: str, value: str, alg: str) -> None:
    """Check ``claims[claim]`` (``at_hash`` or ``c_hash``) against ``value``, when present."""
    expected = claims.get(claim)
    if expected is None:
        return  # optional in the code flow (OIDC Core 3.1.3.6); checked when sent
    if not isinstance(expected, str):
        raise TokenValidationError(claim, f"{claim} is not a string")
    try:
        actual = token_hash(value, alg)
    except ValueError as exc:
        raise TokenValidationError(claim, str(exc)) from exc
    if not hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), actual.encode("ascii")):
        what = "access token" if claim == "at_hash" else "authorization code"
        raise TokenValidationError(claim, f"{claim} does not match the {what}")


def _normalised_typ(typ: object) -> str | None:
    if not isinstance(typ, str):
        return None
    typ = typ.lower()
    return typ.removeprefix("application/")


def _check_algorithm(alg: object, allowed: Collection[str]) -> str:
    if not isinstance(alg, str) or not alg:
        raise TokenValidationError("algorithm", "the token header has no alg")
    if alg.lower() == "none":
        raise TokenValidationError("algorithm", "unsigned tokens (alg none) are refused")
    if alg.upper().startswith("HS"):
        raise TokenValidationError(
            "algorithm",
            f"{shown(alg)} is refused: an HMAC algorithm would be verified with a public key "
            "as the shared secret (RFC 8725 section 2.1)",
        )
    if alg not in allowed:
        raise TokenValidationError(
            "algorithm",
            f"{shown(alg)} is not an allowed algorithm ({', '.join(sorted(allowed))})",
        )
    return alg


def _allowed_algorithms(explicit: Collection[str] | None) -> frozenset[str] | None:
    if explicit is None:
        return None
    if isinstance(explicit, str):
        explicit = (explicit,)
    refused = [alg for alg in explicit if alg not in SUPPORTED_ALGORITHMS]
    if refused:
        raise ValueError(
            f"unsupported or unsafe algorithms {refused}; choose from "
            f"{sorted(SUPPORTED_ALGORITHMS)} (no 'none', no HMAC)"
        )
    if not explicit:
        raise ValueError("the algorithm allow-list must not be empty")
    return frozenset(explicit)


def _check_type(header: Mapping[str, Any], *, id_token: bool, require_at_jwt_type: bool) -> None:
    """The ``type`` check: ``typ`` (RFC 9068 section 4) against what the call expects."""
    typ = _normalised_typ(header.get("typ"))
    if id_token and typ == "at+jwt":
        raise TokenValidationError("type", "an access token (typ at+jwt) is not an ID token")
    if require_at_jwt_type and typ != "at+jwt":
        raise TokenValidationError("type", f"typ is {shown(header.get('typ'))}, not 'at+jwt'")


def _parse(token: str) -> tuple[bytes, CompactSignature, dict[str, Any]]:
    """The ``format`` check: the token's bytes, its JWS compact parts and its header."""
    if not isinstance(token, str | bytes) or not token:
        raise TokenValidationError("format", "the token is empty or not a string")
    raw = token.encode("ascii", "replace") if isinstance(token, str) else token
    if raw.count(b".") != 2:
        raise TokenValidationError(
            "format", "not a signed JWT in compact form (encrypted tokens are not supported)"
        )
    try:
        compact = extract_compact(raw, None, _PARSING_REGISTRY)
        header = compact.headers()
    except (JoseError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise TokenValidationError(
            "format", f"the token can not be parsed: {shown(str(exc))}"
        ) from exc
    if "b64" in header:
        raise TokenValidationError("format", "unencoded payloads (RFC 7797) are refused")
    return raw, compact, header


def _registry_for(alg: str) -> JWSRegistry:
    """A joserfc registry that allows ``alg`` alone (made once per algorithm, not per call)."""
    return JWSRegistry(algorithms=[alg], strict_check_header=False)


@attrs.frozen
class _Ready:
    """What a verifier works out once its provider's metadata is known."""

    issuer: str
    algorithms: frozenset[str]
    registries: Mapping[str, JWSRegistry]  # one per allowed algorithm


#: An access token that passed every check, as the cache of verified tokens keeps it:
#: (the header's base64url segment, the payload's bytes, the JwksCache generation its key
#: came from, the issuer). A plain tuple of bytes, int and str, made per verified token:
#: the garbage collector stops tracking such tuples, so a full cache costs no collection
#: time, and nothing the caller does with the objects returned can reach what it holds.
_VerifiedEntry: TypeAlias = tuple[bytes, bytes, int, str]


class TokenVerifier:
    """Verifies ID tokens and JWT access tokens issued by one provider.

    Args:
        issuer_or_metadata: The issuer URL (its discovery document is fetched on first use),
            or metadata already at hand (a ``ProviderMetadata`` or the document as a dict).
        http_client: The client for discovery and key set requests; short-lived ones when
            None.
        algorithms: The JWS algorithms to accept; by default those of the metadata's
            ``id_token_signing_alg_values_supported`` this module supports, else ``RS256``.
        leeway: Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
        jwks_refresh_interval: The least number of seconds between two key set fetches
            caused by an unknown ``kid``.
        clock: Wall and monotonic time, for tests; its monotonic time also times the
            re-fetch limit and the backoff after a failed fetch.
        fetch_timeout: Seconds a discovery or key set fetch may take in all.
        dpop: Checks the DPoP proofs of DPoP-bound access tokens (its replay cache is
            this verifier's); one with the verifier's clock and leeway when None.
        verified_cache_size: How many access tokens whose signature verified are
            remembered (0: none), so that the same bearer token on many requests skips
            the parsing and the signature check; every other check runs on each call
            (see "The cache of verified access tokens" below).

    The cache of verified access tokens: an API sees the same bearer token on many
    requests, and its signature check is most of a verification's cost. So the last
    ``verified_cache_size`` access tokens (up to ``MAX_CACHED_TOKEN_LENGTH`` characters
    each) that passed every check are remembered with the key set they verified under;
    on a hit, the type, issuer, audience, expiry, not-before, issued-at and scope checks
    run again, with the clock of the call, so a token is never accepted past ``exp``
    (plus ``leeway``), and a token verified under a key set that has since been replaced
    (a re-fetch after an unknown ``kid``: the provider rotated its keys) is verified from
    scratch, so a key rotated out of the set stops verifying cached tokens exactly when
    it stops verifying new ones. ID tokens are never cached.

    Raises:
        ValueError: ``verified_cache_size`` is negative; ``algorithms`` names ``none``,
            an HMAC or an unsupported algorithm; metadata given as a dict has no
            ``issuer`` or a field of the wrong type.
        InsecureURLError: The issuer URL is plain http on a non-loopback host.
    """

    def __init__(
        self,
        issuer_or_metadata: str | httpx.URL | ProviderMetadata | Mapping[str, Any],
        *,
        http_client: httpx.AsyncClient | None = None,
        algorithms: Collection[str] | None = None,
        leeway: float = DEFAULT_LEEWAY,
        jwks_refresh_interval: float = DEFAULT_JWKS_REFRESH_INTERVAL,
        clock: Clock | None = None,
        fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
        dpop: DPoPProofChecker | None = None,
        verified_cache_size: int = DEFAULT_VERIFIED_CACHE_SIZE,
    ) -> None:
        if verified_cache_size < 0:
            raise ValueError("verified_cache_size must be 0 (no cache) or more")
        self._clock: Clock = clock if clock is not None else SystemClock()
        self.dpop = dpop if dpop is not None else DPoPProofChecker(clock=self._clock, leeway=leeway)
        self._http_client = http_client
        self._fetch_timeout = fetch_timeout
        self._metadata: ProviderMetadata | None
        self._discovery: DiscoveryCache | None = None
        if isinstance(issuer_or_metadata, ProviderMetadata):
            self._metadata = issuer_or_metadata
            self._issuer_url = issuer_or_metadata.issuer
        elif isinstance(issuer_or_metadata, Mapping):
            self._metadata = ProviderMetadata.from_dict(issuer_or_metadata)
            self._issuer_url = self._metadata.issuer
        else:
            self._issuer_url = str(require_secure_url(issuer_or_metadata, "issuer URL"))
            self._metadata = None
            self._discovery = DiscoveryCache(
                self._issuer_url,
                http_client=http_client,
                clock=self._clock,
                fetch_timeout=fetch_timeout,
            )
        self._algorithms = _allowed_algorithms(algorithms)
        self.leeway = leeway
        self._jwks_refresh_interval = jwks_refresh_interval
        self._jwks: JwksCache | None = None
        self._prepared: _Ready | None = None
        self._verified_size = verified_cache_size
        self._verified: OrderedDict[str, _VerifiedEntry] | None = (
            OrderedDict() if verified_cache_size else None
        )
        self._scope_memo = ScopeMemo()
        self._scope_sets: dict[str, frozenset[str]] = {}  # a token's scope -> its set

    def __repr__(self) -> str:
        return f"TokenVerifier({self._issuer_url!r})"

    async def metadata(self) -> ProviderMetadata:
        """The provider's metadata, fetched on first use (one fetch however many callers).

        Raises:
            APIConnectionError, APIStatusError, APIResponseValidationError: The discovery
                document can not be had (now, or a moment ago: see ``_shared_fetch.py``).
        """
        if self._metadata is not None:
            return self._metadata
        assert self._discovery is not None  # set whenever no metadata was given
        return await self._discovery.get()

    async def _key_cache(self) -> JwksCache:
        if self._jwks is not None:
            return self._jwks
        metadata = await self.metadata()
        try:
            jwks_uri = metadata.require("jwks_uri")
        except InsecureURLError:
            raise
        except ValueError as exc:
            # Only metadata the application gave gets here (a fetched document's
            # defects are APIResponseValidationErrors): no key can verify anything.
            raise TokenValidationError("key", str(exc)) from exc
        if self._jwks is None:  # another task may have made it during the await
            self._jwks = JwksCache(
                jwks_uri,
                http_client=self._http_client,
                min_refresh_interval=self._jwks_refresh_interval,
                clock=self._clock,
                fetch_timeout=self._fetch_timeout,
            )
        return self._jwks

    async def allowed_algorithms(self) -> frozenset[str]:
        """The JWS algorithms a token may be signed with."""
        if self._algorithms is not None:
            return self._algorithms
        advertised = (await self.metadata()).id_token_signing_alg_values_supported
        usable = frozenset(advertised) & SUPPORTED_ALGORITHMS
        return usable or frozenset(_DEFAULT_ID_TOKEN_ALGORITHMS)

    async def verify_id_token(
        self,
        token: str,
        *,
        audience: str,
        nonce: str | None = None,
        access_token: str | None = None,
        code: str | None = None,
        leeway: float | None = None,
    ) -> VerifiedToken:
        """Verify an OpenID Connect ID token (OIDC Core section 3.1.3.7).

        Args:
            token: The compact JWT.
            audience: Your client id.
            nonce: The nonce sent in the authorization request; when given, the token must
                carry the same one.
            access_token: The access token issued with the ID token; when given and the
                ID token has ``at_hash``, the two must match (OIDC Core 3.1.3.6).
            code: The authorization code the tokens were exchanged for; when given and
                the ID token has ``c_hash``, the two must match (OIDC Core 3.3.2.11).
            leeway: Overrides the verifier's clock-skew allowance.

        Returns:
            The verified header and claims.

        Raises:
            TokenValidationError: A check failed; ``.check`` says which.
            APIConnectionError, APIStatusError, APIResponseValidationError, InsecureURLError:
                The provider's metadata or keys can not be had.
        """
        verified = await self._verify(token, audience=audience, leeway=leeway, id_token=True)
        claims = verified.claims
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise TokenValidationError("format", "the ID token has no sub claim")
        if nonce is not None:
            token_nonce = claims.get("nonce")
            if not isinstance(token_nonce, str):
                raise TokenValidationError("nonce", "the ID token has no nonce claim")
            if not hmac.compare_digest(
                token_nonce.encode("utf-8", "surrogatepass"),
                nonce.encode("utf-8", "surrogatepass"),
            ):
                raise TokenValidationError(
                    "nonce", "the ID token's nonce is not the one this sign-in sent"
                )
        alg = str(verified.header["alg"])
        if access_token is not None:
            _check_token_hash(claims, "at_hash", access_token, alg)
        if code is not None:
            _check_token_hash(claims, "c_hash", code, alg)
        return verified

    async def verify_access_token(
        self,
        token: str,
        *,
        audience: str,
        required_scopes: Collection[str] = (),
        require_at_jwt_type: bool = False,
        leeway: float | None = None,
        dpop_proof: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> VerifiedToken:
        """Verify a JWT access token, as a resource server does (RFC 9068 section 4).

        Args:
            token: The compact JWT from the ``Authorization: Bearer`` header.
            audience: This API's identifier; ``aud`` must contain it.
            required_scopes: Scopes the token must all carry.
            require_at_jwt_type: Demand ``typ: at+jwt`` (RFC 9068), which keeps ID tokens
                from passing as access tokens; off by default as many providers omit it.
            leeway: Overrides the verifier's clock-skew allowance.
            dpop_proof: The request's ``DPoP`` header when the token came as
                ``Authorization: DPoP`` (RFC 9449); None when it came as ``Bearer``, which
                a DPoP-bound token (``cnf.jkt``) may not.
            method: The request's method, for the proof's ``htm``.
            url: The request's URL as the client addressed it, for the proof's ``htu``.

        Returns:
            The verified header and claims.

        Raises:
            TokenValidationError: A check failed; ``.check`` says which.
            APIConnectionError, APIStatusError, APIResponseValidationError, InsecureURLError:
                The provider's metadata or keys can not be had: the token is not to
                blame (answer 503, not 401).
            ValueError: A proof was given without ``method`` and ``url``.
        """
        verified = await self._verify(
            token,
            audience=audience,
            leeway=leeway,
            id_token=False,
            require_at_jwt_type=require_at_jwt_type,
        )
        # Not cached with the token: a proof is checked on every request (its jti once).
        self.dpop.check_binding(verified.claims, token, proof=dpop_proof, method=method, url=url)
        required = self._scope_memo(required_scopes)
        if not required:
            return verified
        granted = self._granted_scopes(verified.claims)
        missing = [scope for scope in required if scope not in granted]
        if missing:
            raise TokenValidationError(
                "scope", f"the token lacks the required scope(s): {' '.join(missing)}"
            )
        return verified

    def _granted_scopes(self, claims: Mapping[str, Any]) -> frozenset[str]:
        """``VerifiedToken.scopes``, remembered per ``scope`` string (a client reuses one)."""
        scope = claims.get("scope")
        if "scp" in claims or not isinstance(scope, str):
            return _token_scopes(claims)
        known = self._scope_sets.get(scope)
        if known is None:
            known = _token_scopes(claims)
            if len(self._scope_sets) >= _MAX_SCOPE_SETS:
                self._scope_sets.clear()  # many distinct scope strings: start over
            self._scope_sets[scope] = known
        return known

    async def _ready(self) -> _Ready:
        """What every verification needs once the metadata is known, worked out once."""
        if self._prepared is not None:
            return self._prepared
        issuer = (await self.metadata()).issuer
        allowed = await self.allowed_algorithms()
        # Discovery is fetched once and kept, so neither can change afterwards.
        self._prepared = _Ready(
            issuer=issuer,
            algorithms=allowed,
            registries={alg: _registry_for(alg) for alg in allowed},
        )
        return self._prepared

    async def _verify(
        self,
        token: str,
        *,
        audience: str,
        leeway: float | None,
        id_token: bool,
        require_at_jwt_type: bool = False,
    ) -> VerifiedToken:
        """Every check of the module's table but ``scope``, nonce and the token hashes."""
        cache = self._verified
        entry = cache.get(token) if cache is not None and not id_token else None
        if cache is not None and entry is not None:
            jwks = self._jwks
            if jwks is not None and entry[2] == jwks.generation:  # the key set it verified under
                return self._recheck(
                    entry,
                    token,
                    audience=audience,
                    leeway=leeway,
                    require_at_jwt_type=require_at_jwt_type,
                )
            # The key set changed since: the key may be gone; verify from scratch.
            del cache[token]

        raw, compact, header = _parse(token)
        ready = self._prepared or await self._ready()
        alg = header.get("alg")
        registry = ready.registries.get(alg) if isinstance(alg, str) else None
        if registry is None:
            _check_algorithm(alg, ready.algorithms)  # raises, naming what is wrong
            raise TokenValidationError("algorithm", f"{shown(alg)} is not allowed")
        assert isinstance(alg, str)  # a key of the registries
        _check_type(header, id_token=id_token, require_at_jwt_type=require_at_jwt_type)
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenValidationError("format", "the token's kid is not a string")

        jwks = self._jwks or await self._key_cache()
        key = jwks.cached_key(kid, alg) or await jwks.find_key(kid=kid, alg=alg)
        # Read after find_key, with no await since: the set the key was found in.
        generation = jwks.generation
        try:
            valid = validate_compact(compact, key, None, registry)
        except (JoseError, ValueError) as exc:
            raise TokenValidationError(
                "signature", f"the signature can not be verified: {shown(str(exc))}"
            ) from exc
        if not valid:
            raise TokenValidationError("signature", "the signature does not verify")

        payload = compact.payload
        claims = json_object(payload)
        if claims is None:
            raise TokenValidationError("format", "the payload is not a JSON object")

        self._check_claims(
            claims,
            issuer=ready.issuer,
            audience=audience,
            leeway=self.leeway if leeway is None else leeway,
            id_token=id_token,
        )
        if cache is not None and not id_token and len(raw) <= MAX_CACHED_TOKEN_LENGTH:
            if len(cache) >= self._verified_size:
                cache.popitem(last=False)  # the oldest entry
            cache[token] = (compact.segments["header"], payload, generation, ready.issuer)
        return VerifiedToken(header=header, claims=claims)

    def _recheck(
        self,
        entry: _VerifiedEntry,
        token: str,
        *,
        audience: str,
        leeway: float | None,
        require_at_jwt_type: bool,
    ) -> VerifiedToken:
        """A token whose signature verified under the key set in use: every other check."""
        header_segment, payload, _, issuer = entry
        header = json_object(
            base64.urlsafe_b64decode(header_segment + b"=" * (-len(header_segment) % 4))
        )
        claims = json_object(payload)
        # Both were JSON objects when the entry was made.
        assert header is not None
        assert claims is not None
        _check_type(header, id_token=False, require_at_jwt_type=require_at_jwt_type)
        try:
            self._check_claims(
                claims,
                issuer=issuer,
                audience=audience,
                leeway=self.leeway if leeway is None else leeway,
                id_token=False,
            )
        except TokenValidationError as exc:
            if exc.check == "expiry" and self._verified is not None:
                self._verified.pop(token, None)  # expired for good: make room
            raise
        return VerifiedToken(header=header, claims=claims)

    def _check_claims(
        self,
        claims: Mapping[str, Any],
        *,
        issuer: str,
        audience: str,
        leeway: float,
        id_token: bool,
    ) -> None:
        iss = claims.get("iss")
        if not isinstance(iss, str) or iss != issuer:
            raise TokenValidationError("issuer", f"iss is {shown(iss)}, expected {shown(issuer)}")

        aud = claims.get("aud")
        audiences: list[str]
        if isinstance(aud, str):
            audiences = [aud]
        elif isinstance(aud, list) and all(isinstance(item, str) for item in aud):
            audiences = aud
        else:
            raise TokenValidationError("audience", "the token has no aud claim")
        if audience not in audiences:
            raise TokenValidationError(
                "audience", f"aud {shown(audiences)} does not contain {shown(audience)}"
            )
        if id_token:
            azp = claims.get("azp")
            if azp is not None and azp != audience:
                raise TokenValidationError(
                    "audience", f"azp is {shown(azp)}, not {shown(audience)}"
                )
            if len(audiences) > 1 and azp is None:
                raise TokenValidationError(
                    "audience", "the ID token has several audiences and no azp"
                )

        now = self._clock.time()
        exp = _number(claims.get("exp"))
        if exp is None:
            raise TokenValidationError("expiry", "the token has no numeric exp claim")
        if now > exp + leeway:
            raise TokenValidationError("expiry", f"the token expired {now - exp:.0f}s ago")

        if "nbf" in claims:
            nbf = _number(claims["nbf"])
            if nbf is None:
                raise TokenValidationError("not_before", "nbf is not a number")
            if nbf > now + leeway:
                raise TokenValidationError(
                    "not_before", f"the token is not valid for another {nbf - now:.0f}s"
                )

        if "iat" not in claims:
            if id_token:
                raise TokenValidationError("issued_at", "the ID token has no iat claim")
            return
        iat = _number(claims["iat"])
        if iat is None:
            raise TokenValidationError("issued_at", "iat is not a number")
        if iat > now + leeway:
            raise TokenValidationError(
                "issued_at", f"the token claims to be issued {iat - now:.0f}s from now"
            )
