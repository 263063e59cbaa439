"""`login`: a token for an e-mail and password, rate-limited per e-mail and address."""

import strawberry

from graph.api.context import Info
from graph.core.errors import UNAUTHENTICATED, ApiError
from graph.security.auth import issue_token
from graph.security.credentials import login_by_email, record_login
from graph.security.passwords import verify_password_async
from graph.security.ratelimit import login_attempt
from resolvers.accounts.types import AuthPayload, Viewer

LOGIN_FAILED = "Invalid e-mail or password"


@strawberry.input
class LoginInput:
    email: str
    password: str


async def log_in(info: Info, input: LoginInput) -> AuthPayload:
    # Reserved as a failure before the password is checked (RATE_LIMITED once the limit is).
    attempt = login_attempt(info.context, input.email)
    try:
        stored = await login_by_email(info.context.db, input.email)
    except BaseException:  # e.g. the database is down: no password was checked
        attempt.withdrawn()
        raise
    valid = await verify_password_async(stored.password_hash if stored else None, input.password)
    if stored is None or not valid or not stored.active:
        raise ApiError(UNAUTHENTICATED, LOGIN_FAILED)
    attempt.succeeded()
    await record_login(info.context.db, stored.identity.user_id)
    settings = info.context.settings
    token, expires_at = issue_token(
        stored.identity, info.context.jwt_secret, settings.jwt_ttl_seconds
    )
    await info.context.switch_identity(stored.identity)
    return AuthPayload(token=token, expires_at=expires_at, viewer=Viewer(identity=stored.identity))


@strawberry.type
class AccountMutations:
    login: AuthPayload = strawberry.field(resolver=log_in)
