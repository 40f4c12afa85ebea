"""Password sign-in with the MFA branch, on top of the generated ``auth`` resource.

::

    result = await client.auth.sign_in_with_password("ada@example.com", password)
    if isinstance(result, MfaChallenge):            # the user has an active factor
        await result.start(result.factors[0])       # sends the SMS/email code, if any
        result = await result.verify(code)
    result.tokens.access_token

The MFA flow id (``mfa_flow_id``) is the state integrators otherwise stash by hand between
the two steps; here it lives on the ``MfaChallenge`` object, with the factor chosen. The
generated ``client.auth.sign_in(SignInRequest)`` stays available as the raw operation.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import attrs

from intelliauth_client.facade import AuthResource as _GeneratedAuthResource
from intelliauth_client.facade import Invoker
from intelliauth_ext._token_set import TokenSet

if TYPE_CHECKING:
    from intelliauth_client.models.mfa_factor import MfaFactor
    from intelliauth_client.models.sign_in_authenticated import SignInAuthenticated
    from intelliauth_client.models.started_mfa_challenge import StartedMfaChallenge
    from intelliauth_client.models.user import User

__all__ = ["AuthResource", "MfaChallenge", "SignedIn"]


@attrs.frozen
class SignedIn:
    """A finished sign-in: the user, their session and their tokens (``repr`` hides them).

    Attributes:
        user: The signed-in user.
        session_id: The session the tokens belong to (``me.revoke_session`` ends it).
        tokens: The access, refresh and ID tokens, as a ``TokenSet``.
    """

    user: User
    session_id: str
    tokens: TokenSet

    @classmethod
    def from_model(cls, result: SignInAuthenticated) -> SignedIn:
        """Convert the generated ``SignInAuthenticated`` model."""
        return cls(
            user=result.user,
            session_id=result.session_id,
            tokens=TokenSet.from_token_response(result.tokens.to_dict()),
        )


def _factor_id(factor: MfaFactor | str) -> str:
    return factor if isinstance(factor, str) else factor.id


@attrs.define(repr=False)
class MfaChallenge:
    """A sign-in waiting for a second factor: keeps the flow id and the chosen factor.

    Attributes:
        mfa_flow_id: The flow id the server issued; valid until ``expires_at``.
        factors: The user's active factors to choose from.
        expires_at: When the flow expires (sign in again after it).
    """

    mfa_flow_id: str
    factors: tuple[MfaFactor, ...]
    expires_at: datetime.datetime
    _auth: AuthResource = attrs.field(alias="auth")
    _factor_id: str | None = attrs.field(default=None, init=False)

    def _choose(self, factor: MfaFactor | str | None) -> str:
        if factor is not None:
            chosen = _factor_id(factor)
            if chosen not in {known.id for known in self.factors}:
                raise ValueError(f"{chosen!r} is not one of this sign-in's factors")
            return chosen
        if self._factor_id is not None:
            return self._factor_id
        if len(self.factors) == 1:
            return self.factors[0].id
        raise ValueError(
            f"the user has {len(self.factors)} factors; pass the one to use "
            "(one of challenge.factors) to start() or verify()"
        )

    async def start(self, factor: MfaFactor | str | None = None) -> StartedMfaChallenge:
        """Start the challenge on ``factor`` (the only factor when the user has one).

        For SMS and email factors this sends the code; for TOTP it only records the choice.

        Raises:
            ValueError: ``factor`` is not one of ``factors``, or is needed and missing.
            APIStatusError: The flow expired or the factor is unknown (``NotFoundError``...).
        """
        from intelliauth_client.models.mfa_challenge_request import MfaChallengeRequest

        factor_id = self._choose(factor)
        started = await self._auth.start_mfa_challenge(
            MfaChallengeRequest(mfa_flow_id=self.mfa_flow_id, factor_id=factor_id)
        )
        self._factor_id = factor_id
        return started

    async def verify(self, code: str, *, factor: MfaFactor | str | None = None) -> SignedIn:
        """Check ``code`` and finish the sign-in.

        Raises:
            ValueError: No factor was chosen and the user has several.
            APIStatusError: A wrong code (``invalid_mfa_code``) or an expired flow.
        """
        from intelliauth_client.models.mfa_verify_request import MfaVerifyRequest

        factor_id = self._choose(factor)
        result = await self._auth.verify_mfa(
            MfaVerifyRequest(mfa_flow_id=self.mfa_flow_id, factor_id=factor_id, code=code)
        )
        return SignedIn.from_model(result)

    def __repr__(self) -> str:
        kinds = ", ".join(str(factor.type_) for factor in self.factors)
        return f"MfaChallenge(factors=[{kinds}], expires_at={self.expires_at.isoformat()!r})"


class AuthResource(_GeneratedAuthResource):
    """The generated ``auth`` operations, plus ``sign_in_with_password`` with the MFA branch."""

    def __init__(self, invoker: Invoker, *, client_id: str | None = None) -> None:
        super().__init__(invoker)
        self._default_client_id = client_id

    async def sign_in_with_password(
        self,
        email: str,
        password: str,
        *,
        client_id: str | None = None,
        scope: str | None = None,
    ) -> SignedIn | MfaChallenge:
        """Sign a user in with their password.

        Args:
            email: The user's email.
            password: The user's password (never logged).
            client_id: The first-party application signing the user in; defaults to the
                client id the ``IntelliAuth`` client was built with.
            scope: Space-separated scopes for the tokens (the server's default otherwise).

        Returns:
            ``SignedIn`` when no second factor is needed, else an ``MfaChallenge``.

        Raises:
            ValueError: No client id was given and the client has none.
            AuthenticationError: Wrong credentials (``code == "invalid_credentials"``).
        """
        from intelliauth_client.models.sign_in_authenticated import SignInAuthenticated
        from intelliauth_client.models.sign_in_request import SignInRequest
        from intelliauth_client.types import UNSET

        application = client_id or self._default_client_id
        if not application:
            raise ValueError(
                "sign_in_with_password needs the client_id of the application signing the user in"
            )
        result = await self.sign_in(
            SignInRequest(
                client_id=application,
                email=email,
                password=password,
                scope=UNSET if scope is None else scope,
            )
        )
        if isinstance(result, SignInAuthenticated):
            return SignedIn.from_model(result)
        return MfaChallenge(
            mfa_flow_id=result.mfa_flow_id,
            factors=tuple(result.factors),
            expires_at=result.expires_at,
            auth=self,
        )
