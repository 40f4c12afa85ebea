"""Checking DPoP proofs: the resource server's side of RFC 9449.

A DPoP-bound access token carries ``cnf.jkt``, the SHA-256 thumbprint (RFC 7638) of the
client's public key (RFC 9449 section 6). Such a token is only good with ``Authorization:
DPoP <token>`` and one ``DPoP`` header holding a fresh proof signed by that key; a stolen
token alone is useless. ``DPoPProofChecker.check_binding`` decides what a request
presenting a token needs, and ``check_proof`` runs the checks of section 4.3, in order,
each failing with a ``TokenValidationError`` whose ``check`` is ``dpop_proof`` (answer 401
``WWW-Authenticate: DPoP error="invalid_dpop_proof"``, section 7.1) unless said otherwise:

- the proof is one compact JWS of at most 8 KiB with a JSON object payload;
- ``typ`` is ``dpop+jwt``; ``alg`` is an asymmetric algorithm (never ``none`` or HMAC);
- ``jwk`` is a public key (no private members) and the signature verifies with it;
- ``jti`` is a string; ``htm`` is the request's method; ``htu`` is the request's URL
  without query and fragment, both normalised (RFC 3986 sections 6.2.2 and 6.2.3);
- ``iat`` lies within ``window`` seconds before now (give or take ``leeway``);
- ``ath`` is the base64url SHA-256 of the access token (section 4.2), when one is sent;
- the key's thumbprint is the token's ``cnf.jkt``;
- with server nonces on, ``nonce`` is a current one, else check ``dpop_nonce`` (answer 401
  ``error="use_dpop_nonce"`` with a fresh ``DPoP-Nonce`` header, section 9);
- the ``jti`` was not seen within the window (section 11.1): a replay.

Replays are remembered in a bounded in-memory cache, one per checker (so one per
``TokenVerifier``). An app served by several processes has one cache per process, and a
proof replayed to another process passes there: give the checkers one shared
``replay_cache`` (any object with ``remember``), or accept that limit, which the short
window keeps small. A token presented the wrong way is check ``dpop_binding``: a DPoP-bound
token sent as ``Bearer`` (section 7.2), or an unbound token sent as ``DPoP``.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import math
import os
import re
import struct
import warnings
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import JWKRegistry
from joserfc.jws import JWSRegistry, extract_compact, validate_compact

from intelliauth_ext._clock import Clock, SystemClock
from intelliauth_ext._dpop import access_token_hash  # the client's ath: one definition
from intelliauth_ext._errors import TokenValidationError
from intelliauth_ext._json import json_object
from intelliauth_ext._shown import shown
from intelliauth_ext._signing_key import SIGNING_ALGORITHMS

__all__ = [
    "DEFAULT_PROOF_WINDOW",
    "DEFAULT_REPLAY_CACHE_SIZE",
    "PROOF_ALGORITHMS",
    "DPoPNonces",
    "DPoPProofChecker",
    "MemoryReplayCache",
    "ReplayCache",
    "bound_thumbprint",
    "dpop_challenge",
    "dpop_proof_of",
    "dpop_refusal",
    "normalised_htu",
]

#: Seconds a proof's ``iat`` may lie in the past (RFC 9449 section 11.1: "relatively
#: brief"); ``leeway`` is added for clock skew, in both directions.
DEFAULT_PROOF_WINDOW: Final = 60.0
#: How many proofs the in-memory replay cache remembers at most.
DEFAULT_REPLAY_CACHE_SIZE: Final = 100_000
#: Asymmetric JWS algorithms a proof may use (RFC 9449 section 4.2: no MAC, no none).
PROOF_ALGORITHMS: Final = frozenset(SIGNING_ALGORITHMS) | {"Ed25519"}
_MAX_PROOF_BYTES: Final = 8192
_MAX_JTI_CHARACTERS: Final = 256
# JWK members only a private (or symmetric) key has: a proof carries the public key only.
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_PERCENT_ESCAPE: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_DEFAULT_PORTS: Final[Mapping[str, int]] = {"http": 80, "https": 443}
# What a quoted challenge attribute may hold unescaped (RFC 6750 section 3, RFC 9449 7.1).
_UNSAFE_IN_QUOTES: Final = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def _proof_registry(algorithms: Collection[str] | None = None) -> JWSRegistry:
    """A JWS registry whose header limit fits a proof's embedded RSA key (4096-bit)."""
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    registry.max_header_length = 2048
    return registry


def _refused(description: str) -> TokenValidationError:
    return TokenValidationError("dpop_proof", description)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def dpop_challenge(
    *,
    error: str | None = None,
    description: str | None = None,
    algorithms: Collection[str] = (),
    realm: str | None = None,
) -> str:
    """The ``WWW-Authenticate: DPoP ...`` value of a refusal (RFC 9449 section 7.1).

    Args:
        error: ``invalid_dpop_proof``, ``use_dpop_nonce``, ``invalid_token`` ... or None.
        description: A human-readable ``error_description`` (printable ASCII kept).
        algorithms: The proof algorithms accepted, as the ``algs`` attribute.
        realm: The protection space, if the API names one.
    """
    params: list[tuple[str, str]] = []
    if realm is not None:
        params.append(("realm", realm))
    if error is not None:
        params.append(("error", error))
        if description:
            params.append(("error_description", description))
    if algorithms:
        params.append(("algs", " ".join(sorted(algorithms))))
    if not params:
        return "DPoP"
    return "DPoP " + ", ".join(
        f'{name}="{_UNSAFE_IN_QUOTES.sub("?", value)}"' for name, value in params
    )


def dpop_proof_of(authorization: Sequence[str], dpop: Sequence[str]) -> str | None:
    """The DPoP proof of a request whose token came as ``Authorization: DPoP``, else None.

    Args:
        authorization: The ``Authorization`` header's values.
        dpop: The ``DPoP`` header's values.

    Raises:
        TokenValidationError: ``dpop_proof``: the scheme is DPoP but there is not exactly
            one ``DPoP`` header (RFC 9449 section 4.3, first check).
    """
    values = [value.strip() for value in authorization if value.strip()]
    scheme = values[0].partition(" ")[0].lower() if len(values) == 1 else ""
    if scheme != "dpop":
        return None
    proofs = [value.strip() for value in dpop if value.strip()]
    if len(proofs) != 1:
        raise _refused("send exactly one DPoP header with the DPoP-bound token")
    return proofs[0]


def dpop_refusal(
    error: TokenValidationError, checker: DPoPProofChecker, *, realm: str | None = None
) -> tuple[str, dict[str, str]]:
    """The error code and response headers refusing a request for a DPoP check.

    Args:
        error: A ``dpop_proof``, ``dpop_nonce`` or ``dpop_binding`` failure.
        checker: The checker, for its algorithms and a fresh nonce.
        realm: The protection space, if the API names one.

    Returns:
        ``invalid_dpop_proof``, ``use_dpop_nonce`` or ``invalid_token``, and the
        ``WWW-Authenticate: DPoP`` header (with ``DPoP-Nonce`` when nonces are on).
    """
    code = {"dpop_proof": "invalid_dpop_proof", "dpop_nonce": "use_dpop_nonce"}.get(
        error.check, "invalid_token"
    )
    headers = {
        "WWW-Authenticate": dpop_challenge(
            error=code, description=error.message, algorithms=checker.algorithms, realm=realm
        )
    }
    nonce = checker.fresh_nonce()
    if nonce is not None:
        headers["DPoP-Nonce"] = nonce
    return code, headers


def _normalised_escapes(text: str) -> str:
    """Upper-case percent-escapes, and decode those of unreserved characters (6.2.2.1-2)."""

    def escape(match: re.Match[str]) -> str:
        character = chr(int(match.group(1), 16))
        return character if character in _UNRESERVED else "%" + match.group(1).upper()

    return _PERCENT_ESCAPE.sub(escape, text)


def _without_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4's remove_dot_segments, for an absolute path."""
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    joined = "/".join(output)
    return joined if joined.startswith("/") else "/" + joined


def normalised_htu(url: str) -> str:
    """A URL as ``htu`` compares it: no query or fragment, normalised (RFC 9449 4.3).

    Scheme and host in lower case, the default port dropped, an empty path made ``/``
    (RFC 3986 section 6.2.3), percent-escapes in upper case and unreserved characters
    decoded, dot segments removed (section 6.2.2).

    Raises:
        ValueError: Not an absolute http(s) URL.
    """
    if not isinstance(url, str) or len(url) > _MAX_PROOF_BYTES:
        raise ValueError("the URL is not a string of a sensible length")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{shown(url)} is not an absolute http(s) URL")
    host = _normalised_escapes(parts.hostname).lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    port = parts.port  # raises ValueError for a port out of range
    authority = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        raise ValueError("a URL with user information is not an htu")
    path = _without_dot_segments(_normalised_escapes(parts.path or "/"))
    return f"{scheme}://{authority}{path}"


def bound_thumbprint(claims: Mapping[str, Any]) -> str | None:
    """The ``cnf.jkt`` of a token's claims (or introspection answer), None when unbound.

    Raises:
        TokenValidationError: ``cnf`` or ``jkt`` is present but not of the right type
            (check ``dpop_binding``).
    """
    cnf = claims.get("cnf")
    if cnf is None:
        return None
    if not isinstance(cnf, Mapping):
        raise TokenValidationError("dpop_binding", "the token's cnf claim is not an object")
    jkt = cnf.get("jkt")
    if jkt is None:
        return None  # bound some other way (x5t#S256, mTLS): not ours to check
    if not isinstance(jkt, str) or not jkt:
        raise TokenValidationError("dpop_binding", "the token's cnf.jkt is not a string")
    return jkt


class ReplayCache(Protocol):
    """Remembers the proofs already seen, until they could no longer pass anyway."""

    def remember(self, key: str, *, until: float, now: float) -> bool:
        """Remember ``key`` until the time ``until``; False if it is remembered already."""
        ...


class MemoryReplayCache:
    """A bounded in-memory ``ReplayCache`` for one process.

    Entries expire when their proof's ``iat`` leaves the window. When ``max_entries``
    unexpired proofs are held (a flood), the oldest are forgotten first: their replay
    would then pass, which a size matched to the traffic of one window avoids.

    Args:
        max_entries: How many proofs to hold at most.
    """

    def __init__(self, max_entries: int = DEFAULT_REPLAY_CACHE_SIZE) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: collections.OrderedDict[str, float] = collections.OrderedDict()

    def __repr__(self) -> str:
        return f"MemoryReplayCache({len(self._entries)}/{self.max_entries})"

    def __len__(self) -> int:
        return len(self._entries)

    def remember(self, key: str, *, until: float, now: float) -> bool:
        """Remember ``key`` until ``until``; False if it is remembered and unexpired."""
        # Entries come in roughly in expiry order: drop the expired ones at the front.
        while self._entries:
            oldest, expiry = next(iter(self._entries.items()))
            if expiry > now:
                break
            del self._entries[oldest]
        known = self._entries.get(key)
        if known is not None and known > now:
            return False
        self._entries[key] = until
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return True


class DPoPNonces:
    """Server-provided DPoP nonces (RFC 9449 section 9), stateless and rotating.

    A nonce is a time slot with its HMAC under a random per-instance key; the current
    slot's and the previous one's are accepted, so a nonce lives between ``lifetime`` and
    twice that. Processes behind one load balancer need the same ``secret``.

    Args:
        lifetime: Seconds per slot.
        secret: The HMAC key; random when None.
    """

    def __init__(self, *, lifetime: float = 300.0, secret: bytes | None = None) -> None:
        if not math.isfinite(lifetime) or lifetime <= 0:
            raise ValueError("lifetime must be a positive number of seconds")
        self.lifetime = lifetime
        self._secret = secret if secret is not None else os.urandom(32)

    def __repr__(self) -> str:
        return f"DPoPNonces(lifetime={self.lifetime})"

    def _nonce(self, slot: int) -> str:
        packed = struct.pack(">q", slot)
        mac = hmac.new(self._secret, packed, hashlib.sha256).digest()[:18]
        return _b64url(packed + mac)

    def current(self, now: float) -> str:
        """The nonce to hand out at time ``now`` (in a ``DPoP-Nonce`` header)."""
        return self._nonce(int(now // self.lifetime))

    def is_valid(self, nonce: object, now: float) -> bool:
        """Whether ``nonce`` is this slot's or the previous slot's."""
        if not isinstance(nonce, str) or len(nonce) > 64:
            return False
        slot = int(now // self.lifetime)
        encoded = nonce.encode("ascii", "replace")
        return any(
            hmac.compare_digest(encoded, self._nonce(candidate).encode("ascii"))
            for candidate in (slot, slot - 1)
        )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


class DPoPProofChecker:
    """Checks the DPoP proofs of requests to one API (see the module docstring).

    Args:
        window: Seconds a proof's ``iat`` may lie in the past.
        leeway: Seconds of clock skew tolerated on ``iat``, both ways.
        algorithms: The proof algorithms accepted; asymmetric ones only.
        replay_cache: Where seen proofs are remembered; a bounded in-memory one when None.
        nonces: Demand server nonces issued by this source; no nonces when None.
        clock: Wall time, for tests.

    Raises:
        ValueError: ``algorithms`` is empty or names a symmetric or unknown algorithm.
    """

    def __init__(
        self,
        *,
        window: float = DEFAULT_PROOF_WINDOW,
        leeway: float = 30.0,
        algorithms: Collection[str] = PROOF_ALGORITHMS,
        replay_cache: ReplayCache | None = None,
        nonces: DPoPNonces | None = None,
        clock: Clock | None = None,
    ) -> None:
        chosen = frozenset((algorithms,) if isinstance(algorithms, str) else algorithms)
        if not chosen or not chosen <= PROOF_ALGORITHMS:
            raise ValueError(
                f"proof algorithms must be some of {sorted(PROOF_ALGORITHMS)}, got {sorted(chosen)}"
            )
        self.window = window
        self.leeway = leeway
        self.algorithms = chosen
        self.replay_cache: ReplayCache = (
            replay_cache if replay_cache is not None else MemoryReplayCache()
        )
        self.nonces = nonces
        self._clock: Clock = clock if clock is not None else SystemClock()

    def __repr__(self) -> str:
        nonces = ", nonces" if self.nonces is not None else ""
        return f"DPoPProofChecker(window={self.window}{nonces})"

    def fresh_nonce(self) -> str | None:
        """The nonce to send in ``DPoP-Nonce`` now; None when nonces are off."""
        return None if self.nonces is None else self.nonces.current(self._clock.time())

    def check_binding(
        self,
        claims: Mapping[str, Any],
        access_token: str,
        *,
        proof: str | None,
        method: str | None,
        url: str | None,
    ) -> str | None:
        """Check how a token was presented; return the proof key's thumbprint, if any.

        Args:
            claims: The verified token's claims (or the introspection answer).
            access_token: The token as sent.
            proof: The ``DPoP`` header when the token came as ``Authorization: DPoP``;
                None when it came as ``Bearer``.
            method: The request's method.
            url: The request's URL as the client addressed it.

        Raises:
            TokenValidationError: ``dpop_binding``, ``dpop_proof`` or ``dpop_nonce``.
        """
        jkt = bound_thumbprint(claims)
        if proof is None:
            if jkt is not None:  # RFC 9449 section 7.2
                raise TokenValidationError(
                    "dpop_binding", "a DPoP-bound token must be sent with a DPoP proof"
                )
            return None
        if jkt is None:
            raise TokenValidationError(
                "dpop_binding", "the token is not DPoP-bound: send it as a Bearer token"
            )
        if method is None or url is None:
            raise ValueError("checking a DPoP proof needs the request's method and URL")
        return self.check_proof(proof, method=method, url=url, access_token=access_token, jkt=jkt)

    def check_proof(
        self,
        proof: str,
        *,
        method: str,
        url: str,
        access_token: str | None = None,
        jkt: str | None = None,
    ) -> str:
        """Check one DPoP proof; return the thumbprint of its key.

        Args:
            proof: The ``DPoP`` header's value.
            method: The request's method (``htm``).
            url: The request's URL (``htu``; query and fragment ignored).
            access_token: The token the proof goes with; ``ath`` must hash it. None at a
                token endpoint, where there is no token yet.
            jkt: The thumbprint the key must have (``cnf.jkt``), if known.

        Raises:
            TokenValidationError: ``dpop_proof`` or ``dpop_nonce``.
        """
        claims, key_jwk = self._signed_parts(proof)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI_CHARACTERS:
            raise _refused("the proof has no usable jti")
        if claims.get("htm") != method:
            raise _refused(f"htm is {shown(claims.get('htm'))}, the request's method {method}")
        htu = claims.get("htu")
        try:
            matches = isinstance(htu, str) and normalised_htu(htu) == normalised_htu(url)
        except ValueError:
            matches = False
        if not matches:
            raise _refused(f"htu {shown(htu)} is not this request's URL")
        now = self._clock.time()
        iat = _number(claims.get("iat"))
        if iat is None:
            raise _refused("the proof has no numeric iat")
        if iat > now + self.leeway or iat < now - self.window - self.leeway:
            raise _refused("the proof's iat is outside the accepted window")
        if access_token is not None:
            ath = claims.get("ath")
            if not isinstance(ath, str):
                raise _refused("the proof has no ath for the access token")
            if not hmac.compare_digest(
                ath.encode("ascii", "replace"), access_token_hash(access_token).encode("ascii")
            ):
                raise _refused("ath does not match the access token")
        thumbprint = JWKRegistry.import_key(key_jwk).thumbprint()
        if jkt is not None and not hmac.compare_digest(thumbprint, jkt):
            raise _refused("the proof's key is not the one the token is bound to")
        if self.nonces is not None and not self.nonces.is_valid(claims.get("nonce"), now):
            raise TokenValidationError("dpop_nonce", "a current DPoP nonce is required")
        # Last, so that a refused proof does not take room in the cache; kept until its
        # iat leaves the window, after which the iat check refuses it anyway.
        replay_key = hashlib.sha256(f"{thumbprint} {jti}".encode()).hexdigest()[:32]
        if not self.replay_cache.remember(
            replay_key, until=iat + self.window + self.leeway, now=now
        ):
            raise _refused("the proof's jti was used before (a replay)")
        return thumbprint

    def _signed_parts(self, proof: str) -> tuple[Mapping[str, Any], dict[str, Any]]:
        """The claims and public JWK of a proof whose signature verifies."""
        if not isinstance(proof, str) or not proof or len(proof) > _MAX_PROOF_BYTES:
            raise _refused("the DPoP header is empty or too long")
        raw = proof.strip().encode("ascii", "replace")
        if raw.count(b".") != 2:
            raise _refused("the proof is not a compact JWS")
        try:
            compact = extract_compact(raw, None, _proof_registry())
            header = dict(compact.headers())
        except (JoseError, ValueError, TypeError, UnicodeDecodeError) as exc:
            raise _refused(f"the proof can not be parsed: {shown(str(exc))}") from exc
        if header.get("typ") != "dpop+jwt":
            raise _refused(f"typ is {shown(header.get('typ'))}, not dpop+jwt")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise _refused(f"alg {shown(alg)} is not an accepted asymmetric algorithm")
        jwk = header.get("jwk")
        if not isinstance(jwk, Mapping) or not isinstance(jwk.get("kty"), str):
            raise _refused("the proof's header has no jwk")
        if _PRIVATE_MEMBERS & set(jwk) or jwk.get("kty") == "oct":
            raise _refused("the proof's jwk is not a public key")
        key_jwk = dict(jwk)
        try:
            key = JWKRegistry.import_key(key_jwk)
            with warnings.catch_warnings():
                # joserfc flags EdDSA as deprecated by RFC 9864; clients (oidc-provider's
                # among them) still sign proofs with it, and RFC 9449 lists it.
                warnings.simplefilter("ignore", SecurityWarning)
                valid = validate_compact(compact, key, [alg], _proof_registry([alg]))
        except (JoseError, ValueError, TypeError) as exc:
            raise _refused(f"the proof's signature can not be verified: {shown(str(exc))}") from exc
        if not valid:
            raise _refused("the proof's signature does not verify")
        claims = json_object(compact.payload)
        if claims is None:
            raise _refused("the proof's payload is not a JSON object")
        return claims, key_jwk
