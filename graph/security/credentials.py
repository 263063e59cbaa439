"""Looking up logins before there is an identity, through SECURITY DEFINER functions.

`fisioflow_app` cannot read `users.password_hash`; `auth_user_by_email` (migrations)
returns exactly what authentication needs, and `auth_user_by_external_subject` the login an
identity provider's user is linked to (`users.external_subject`, migration 0008).
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from graph.core.identity import Identity, Role
from graph.sql.session import RequestDb

LOGIN_COLUMNS = (
    "id, clinic_id, email, password_hash, role, physiotherapist_id, patient_id, active,"
    " token_version, must_change_password"
)
_BY_EMAIL = text(f"select {LOGIN_COLUMNS} from auth_user_by_email(:email)")
_BY_ID = text(f"select {LOGIN_COLUMNS} from auth_user_by_id(:user_id)")
# The caller's own new hash, if their login is still at `version` (migration 0016): the new
# version, or null.
_SET_OWN_PASSWORD = text("select auth_set_own_password(:password_hash, :version) as version")
_RECORD_LOGIN = text("select auth_record_login(:user_id)")

_BY_EXTERNAL_SUBJECT = text(f"select {LOGIN_COLUMNS} from auth_user_by_external_subject(:subject)")


@dataclass(frozen=True)
class StoredLogin:
    identity: Identity
    email: str
    password_hash: str
    active: bool
    must_change_password: bool


def _stored(row: object) -> StoredLogin:
    mapping = dict(row)  # type: ignore[call-overload]
    identity = Identity(
        user_id=mapping["id"],
        clinic_id=mapping["clinic_id"],
        role=Role(mapping["role"]),
        physiotherapist_id=mapping["physiotherapist_id"],
        patient_id=mapping["patient_id"],
        token_version=mapping["token_version"],
    )
    return StoredLogin(
        identity,
        mapping["email"],
        mapping["password_hash"],
        mapping["active"],
        mapping["must_change_password"],
    )


async def login_by_email(db: RequestDb, email: str) -> StoredLogin | None:
    row = await db.fetch_one(_BY_EMAIL, {"email": email.strip()})
    return _stored(row) if row else None


async def login_by_id(db: RequestDb, user_id: uuid.UUID) -> StoredLogin | None:
    row = await db.fetch_one(_BY_ID, {"user_id": user_id})
    return _stored(row) if row else None


async def set_own_password(db: RequestDb, password_hash: str, version: int) -> int | None:
    """Set the caller's password hash if their login is still at token `version`; the login's
    new version, or None when it was not (another change won, or the login is inactive)."""
    row = await db.fetch_one(
        _SET_OWN_PASSWORD, {"password_hash": password_hash, "version": version}
    )
    return None if row is None or row["version"] is None else int(row["version"])


async def record_login(db: RequestDb, user_id: uuid.UUID) -> None:
    """Set the login's `users.last_login_at` (a function the anonymous caller may run)."""
    await db.fetch(_RECORD_LOGIN, {"user_id": user_id})


async def login_by_external_subject(engine: AsyncEngine, subject: str) -> Identity | None:
    """The identity of the login an identity provider's `sub` is linked to, if any (active or
    not: each request checks that)."""
    db = RequestDb(engine, None)
    try:
        row = await db.fetch_one(_BY_EXTERNAL_SUBJECT, {"subject": subject})
    finally:
        await db.finish(commit=False)
    return _stored(row).identity if row else None
