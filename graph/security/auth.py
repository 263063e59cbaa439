"""Who is calling: JWTs in, JWTs out, and the identity they carry."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from graph.core.errors import UNAUTHENTICATED, ApiError
from graph.core.identity import Identity, Role
from graph.core.lru import LruCache
from graph.security.jwks import ALGORITHM as JWKS_ALGORITHM
from graph.security.jwks import JwksKeys

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "sub", "clinic_id", "role"]
# A provider's token names its user (`sub`); the login linked to that subject says the rest.
PROVIDER_REQUIRED_CLAIMS = ["exp", "sub"]


def issue_token(identity: Identity, secret: str, ttl_seconds: int) -> tuple[str, datetime]:
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=ttl_seconds)
    claims = {**identity.claims(), "iat": now, "exp": expires_at}
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires_at


@dataclass(frozen=True)
class ProviderClaims:
    """A verified token of the external identity provider: the subject it names, and those of
    our claims it happens to carry, which must agree with the login linked to that subject.
    A `role` that is not one of ours (Supabase's "authenticated") says nothing about ours."""

    subject: str
    clinic_id: uuid.UUID | None = None
    role: Role | None = None
    physiotherapist_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None

    def identity_of(self, login: Identity) -> Identity:
        """`login` as this token's identity; UNAUTHENTICATED when a claim disagrees."""
        for claimed, actual in (
            (self.clinic_id, login.clinic_id),
            (self.role, login.role),
            (self.physiotherapist_id, login.physiotherapist_id),
            (self.patient_id, login.patient_id),
        ):
            if claimed is not None and claimed != actual:
                raise _invalid()
        # Provider tokens carry no version of ours: deactivation or unlinking revokes them.
        return replace(login, external_subject=self.subject, token_version=None)


# The login an identity provider's subject is linked to (users.external_subject), if any.
ExternalLogins = Callable[[str], Awaitable[Identity | None]]


def _invalid() -> ApiError:
    return ApiError(UNAUTHENTICATED, "Invalid or expired token")


def _optional_uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _token_version(value: Any) -> int:
    """A token's `tv` (0 for a token issued before versions existed: the row's first)."""
    if type(value) is not int:
        raise ValueError("tv")
    return value


def _our_role(value: Any) -> Role | None:
    return Role(value) if value in {role.value for role in Role} else None


def verify_token(
    token: str,
    secret: str,
    jwks: JwksKeys | None = None,
    audience: str | None = None,
) -> tuple[Identity | ProviderClaims, datetime]:
    """The identity a valid token claims (our own HS256 tokens), or the provider's claims
    (RS256 tokens of the external identity provider, checked with the keys of `jwks` and
    `audience`, when set), and when it expires; UNAUTHENTICATED for an expired, forged or
    unsigned one. Each algorithm has its own kind of key, so one cannot pass for the other."""
    try:
        header = jwt.get_unverified_header(token)
        if jwks is not None and header.get("alg") == JWKS_ALGORITHM:
            key = jwks.key(header.get("kid"))
            if key is None:
                raise _invalid()
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[JWKS_ALGORITHM],
                audience=audience,
                options={"require": PROVIDER_REQUIRED_CLAIMS, "verify_aud": audience is not None},
            )
            subject = claims["sub"]
            if not isinstance(subject, str) or not subject:
                raise _invalid()
            provider = ProviderClaims(
                subject=subject,
                clinic_id=_optional_uuid(claims.get("clinic_id")),
                role=_our_role(claims.get("role")),
                physiotherapist_id=_optional_uuid(claims.get("physiotherapist_id")),
                patient_id=_optional_uuid(claims.get("patient_id")),
            )
            return provider, datetime.fromtimestamp(int(claims["exp"]), UTC)
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
        )
        identity = Identity(
            user_id=uuid.UUID(str(claims["sub"])),
            clinic_id=uuid.UUID(str(claims["clinic_id"])),
            role=Role(claims["role"]),
            physiotherapist_id=_optional_uuid(claims.get("physiotherapist_id")),
            patient_id=_optional_uuid(claims.get("patient_id")),
            token_version=_token_version(claims.get("tv", 0)),
            password_change_required=claims.get("pcr") is True,
        )
        return identity, datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (jwt.InvalidTokenError, ValueError, KeyError, TypeError, OverflowError, OSError):
        # OverflowError, OSError: an `exp` past what a timestamp can hold (e.g. 1e20)
        raise _invalid() from None


class TokenVerifier:
    """`verify_token` with a bounded memory of tokens already verified: clients send the same
    token with every request, and checking its signature is most of what authentication
    costs. A provider's token becomes the identity of the login linked to its subject
    (`external_logins`, one database round trip the first time the token is seen). A
    remembered token is still refused once it expires, and every request checks its identity
    against the login's row anyway."""

    def __init__(
        self,
        secret: str,
        jwks: JwksKeys | None = None,
        audience: str | None = None,
        size: int = 10_000,
        external_logins: ExternalLogins | None = None,
    ) -> None:
        self.secret = secret
        self.jwks = jwks
        self.audience = audience
        self.external_logins = external_logins
        self._verified: LruCache[tuple[Identity, datetime]] = LruCache(size)

    async def verify(self, token: str) -> tuple[Identity, datetime]:
        _, known = self._verified.get(token)
        if known is None:
            claimed, expires_at = verify_token(token, self.secret, self.jwks, self.audience)
            if isinstance(claimed, ProviderClaims):
                claimed = await self._linked_login(claimed)
            known = (claimed, expires_at)
            self._verified.put(token, known)
        if known[1] <= datetime.now(UTC):
            raise _invalid()
        return known

    async def _linked_login(self, claims: ProviderClaims) -> Identity:
        login = None
        if self.external_logins is not None:
            login = await self.external_logins(claims.subject)
        if login is None:
            raise _invalid()
        return claims.identity_of(login)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` value; None when there is no header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _invalid()
    return token.strip()
