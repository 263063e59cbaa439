"""Physiotherapists at row level (what other areas read of them), and the staff's logins."""

import uuid

from sqlalchemy import RowMapping, func, select, update

from graph.api.context import Info
from graph.core.errors import not_found
from graph.core.identity import Role
from graph.sql.session import RequestDb
from models.accounts import physiotherapists, user_password_resets, users


async def physiotherapist_row(info: Info, physio_id: uuid.UUID) -> RowMapping | None:
    return await info.context.loaders.by_id(physiotherapists).load(physio_id)


async def required_physiotherapist_row(info: Info, physio_id: uuid.UUID) -> RowMapping:
    """The physiotherapist a visible row points at (a non-null field): NOT_FOUND if not."""
    row = await physiotherapist_row(info, physio_id)
    if row is None:
        raise not_found("Physiotherapist")
    return row


async def staff_login_row(info: Info, user_id: uuid.UUID) -> RowMapping | None:
    """The caller's clinic's login `user_id` if it is a staff login (not a patient's)."""
    row = await info.context.loaders.by_id(users).load(user_id)
    return row if row is not None and row["role"] != Role.PATIENT.value else None


async def reset_password(
    db: RequestDb, user_id: uuid.UUID, password_hash: str
) -> RowMapping | None:
    """Set a login's password hash and require a change at its next login (the token version
    follows by trigger, migration 0016): the login's row as it is now, or None when RLS let
    the caller not change it."""
    changed = await db.fetch_one(
        update(user_password_resets)
        .where(user_password_resets.c.id == user_id)
        .values(password_hash=password_hash, must_change_password=True, updated_at=func.now())
        .returning(user_password_resets.c.id)
    )
    if changed is None:
        return None
    return await db.fetch_one(select(users).where(users.c.id == user_id))
