"""The admin commands' writes: `create-clinic` (a clinic and its first admin) and
`link-login` (an identity provider's user acting as a login)."""

import asyncio
import re
import uuid

import asyncpg

from graph.security.passwords import hash_password, policy_violation
from seed.loader import can_silence_triggers, connect

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_new_clinic(name: str, admin_email: str, admin_password: str) -> None:
    if not name.strip():
        raise ValueError("the clinic name must not be empty")
    if not EMAIL_RE.match(admin_email):
        raise ValueError(f"not an e-mail address: {admin_email!r}")
    reason = policy_violation(admin_password, admin_email)
    if reason is not None:
        raise ValueError(reason[0].lower() + reason[1:])


async def create_clinic(dsn: str, name: str, admin_email: str, admin_password: str) -> uuid.UUID:
    """A new clinic and its first admin login; returns the clinic's id."""
    validate_new_clinic(name, admin_email, admin_password)
    password_hash = await asyncio.to_thread(hash_password, admin_password)
    clinic_id, user_id = uuid.uuid4(), uuid.uuid4()
    connection = await connect(dsn)
    try:
        await can_silence_triggers(connection)  # checks that the login bypasses RLS
        async with connection.transaction():
            await connection.execute(
                "select set_config('app.clinic_id', $1, true), set_config('app.role', 'admin', "
                "true), set_config('app.user_id', $2, true)",
                str(clinic_id),
                str(user_id),
            )
            taken = await connection.fetchval(
                "select exists(select from users where lower(email) = lower($1))", admin_email
            )
            if taken:
                raise ValueError(f"a user with the e-mail {admin_email!r} already exists")
            await connection.execute(
                "insert into clinics (id, name) values ($1, $2)", clinic_id, name.strip()
            )
            await connection.execute(
                "insert into users (id, clinic_id, email, password_hash, role) "
                "values ($1, $2, $3, $4, 'admin')",
                user_id,
                clinic_id,
                admin_email.strip(),
                password_hash,
            )
    finally:
        await connection.close()
    return clinic_id


async def link_login(dsn: str, email: str, subject: str | None) -> bool:
    """Make the external identity provider's user `subject` (its tokens' `sub`) act as the
    login `email`, or unlink it (None); False when there is no such login. A subject linked
    to another login is refused by the unique constraint (ValueError)."""
    connection = await connect(dsn)
    try:
        await can_silence_triggers(connection)  # checks that the login bypasses RLS
        try:
            status = await connection.execute(
                "update users set external_subject = $2 where lower(email) = lower($1)",
                email.strip(),
                subject,
            )
        except asyncpg.UniqueViolationError:
            raise ValueError(f"the subject {subject!r} is linked to another login") from None
        except asyncpg.CheckViolationError:
            raise ValueError("the subject must have 1 to 255 characters") from None
    finally:
        await connection.close()
    return bool(status == "UPDATE 1")
