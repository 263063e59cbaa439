"""Who is calling: JWTs in, JWTs out, and the identity they carry."""

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from graph.errors import UNAUTHENTICATED, ApiError
from graph.jwks import ALGORITHM as JWKS_ALGORITHM
from graph.jwks import JwksKeys
from graph.lru import LruCache

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "sub", "clinic_id", "role"]


class Role(enum.Enum):
    ADMIN = "admin"
    PHYSIOTHERAPIST = "physiotherapist"
    RECEPTIONIST = "receptionist"
    PATIENT = "patient"


@dataclass(frozen=True)
class Identity:
    """The caller, as the JWT claims name it; every request's RLS settings come from here."""

    user_id: uuid.UUID
    clinic_id: uuid.UUID
    role: Role
    physiotherapist_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None

    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "sub": str(self.user_id),
            "clinic_id": str(self.clinic_id),
            "role": self.role.value,
        }
        if self.physiotherapist_id:
            claims["physiotherapist_id"] = str(self.physiotherapist_id)
        if self.patient_id:
            claims["patient_id"] = str(self.patient_id)
        return claims


def issue_token(identity: Identity, secret: str, ttl_seconds: int) -> tuple[str, datetime]:
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=ttl_seconds)
    claims = {**identity.claims(), "iat": now, "exp": expires_at}
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires_at


def _invalid() -> ApiError:
    return ApiError(UNAUTHENTICATED, "Invalid or expired token")


def _optional_uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def verify_token(
    token: str,
    secret: str,
    jwks: JwksKeys | None = None,
    audience: str | None = None,
) -> tuple[Identity, datetime]:
    """The identity of a valid token and when it expires; UNAUTHENTICATED for an expired,
    forged or unsigned one. HS256 tokens are checked with `secret`; with `jwks`, RS256
    tokens of the external identity provider with its keys (and `audience`, when set). Each
    algorithm has its own kind of key, so one cannot pass for the other."""
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
                options={"require": REQUIRED_CLAIMS, "verify_aud": audience is not None},
            )
        else:
            claims = jwt.decode(
                token, secret, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
            )
        identity = Identity(
            user_id=uuid.UUID(str(claims["sub"])),
            clinic_id=uuid.UUID(str(claims["clinic_id"])),
            role=Role(claims["role"]),
            physiotherapist_id=_optional_uuid(claims.get("physiotherapist_id")),
            patient_id=_optional_uuid(claims.get("patient_id")),
        )
        return identity, datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (jwt.InvalidTokenError, ValueError, KeyError, TypeError, OverflowError, OSError):
        # OverflowError, OSError: an `exp` past what a timestamp can hold (e.g. 1e20)
        raise _invalid() from None


class TokenVerifier:
    """`verify_token` with a bounded memory of tokens already verified: clients send the same
    token with every request, and checking its signature is most of what authentication
    costs. A remembered token is still refused once it expires."""

    def __init__(
        self,
        secret: str,
        jwks: JwksKeys | None = None,
        audience: str | None = None,
        size: int = 10_000,
    ) -> None:
        self.secret = secret
        self.jwks = jwks
        self.audience = audience
        self._verified: LruCache[tuple[Identity, datetime]] = LruCache(size)

    def verify(self, token: str) -> tuple[Identity, datetime]:
        _, known = self._verified.get(token)
        if known is None:
            known = verify_token(token, self.secret, self.jwks, self.audience)
            self._verified.put(token, known)
        if known[1] <= datetime.now(UTC):
            raise _invalid()
        return known


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` value; None when there is no header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _invalid()
    return token.strip()
