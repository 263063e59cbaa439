"""Inserts and updates that return the written row, through the request's RLS transaction."""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import RowMapping, Table, TableClause, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from graph.core.errors import FORBIDDEN, INVALID_STATE, ApiError, not_found
from graph.sql.session import RequestDb


async def insert_row(
    db: RequestDb,
    table: TableClause,
    values: Mapping[str, Any],
    returning: tuple[str, ...] | None = None,
) -> RowMapping:
    """The inserted row (all columns, or only `returning`)."""
    columns = [table.c[name] for name in returning] if returning else list(table.c)
    row = await db.fetch_one(insert(table).values(**values).returning(*columns))
    assert row is not None, "INSERT ... RETURNING returns its row"
    return row


async def insert_unless_exists(
    db: RequestDb, table: Table, values: Mapping[str, Any], key: str
) -> RowMapping:
    """Insert, or return the clinic's row that already has this `key` value (idempotency).

    `ON CONFLICT DO NOTHING` waits for a concurrent insert of the same key to commit, so two
    racing requests end with one row.
    """
    statement = (
        pg_insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["clinic_id", key])
        .returning(*table.c)
    )
    row = await db.fetch_one(statement)
    if row is None:
        row = await db.fetch_one(select(table).where(table.c[key] == values[key]))
    assert row is not None, "the conflicting row is in the caller's clinic"
    return row


async def update_in_state(
    db: RequestDb,
    table: Table,
    row_id: uuid.UUID,
    allowed_states: tuple[str, ...],
    values: Mapping[str, Any],
    what: str,
) -> RowMapping:
    """Change a row only if its status is one of `allowed_states`, atomically.

    NOT_FOUND when the caller cannot see it, INVALID_STATE when its status forbids the
    change, FORBIDDEN when RLS refuses the caller the write.
    """
    statement = (
        update(table)
        .where(table.c.id == row_id, table.c.status.in_(allowed_states))
        .values(**values, updated_at=func.now())
        .returning(*table.c)
    )
    row = await db.fetch_one(statement)
    if row is not None:
        return row
    current = await db.fetch_one(select(table.c.status).where(table.c.id == row_id))
    if current is None:
        raise not_found(what, field="id")
    if current["status"] not in allowed_states:
        raise ApiError(
            INVALID_STATE, f"A {current['status']} {what.lower()} cannot change this way"
        )
    raise ApiError(FORBIDDEN, f"You may not change this {what.lower()}")


async def update_to_status(
    db: RequestDb,
    table: Table,
    row_id: uuid.UUID,
    status: str,
    values: Mapping[str, Any],
    what: str,
) -> RowMapping:
    """Move a row to `status` whose rules the database keeps (a trigger refusing an illegal
    transition raises INVALID_STATE), in one statement, so two racing changes serialize on the
    row: the second sees the first's status.

    NOT_FOUND when the caller cannot see it, INVALID_STATE when it already has `status`,
    FORBIDDEN when RLS refuses the caller the write.
    """
    statement = (
        update(table)
        .where(table.c.id == row_id, table.c.status != status)
        .values(**values, status=status)
        .returning(*table.c)
    )
    row = await db.fetch_one(statement)
    if row is not None:
        return row
    # Not written: not visible, not the caller's to change (RLS), already in `status`, or
    # changed by a racing request since: read it under a lock (only rows RLS lets the caller
    # change are locked) to tell which; once locked, the write runs on what was read.
    locked = await db.fetch_one(
        select(table.c.status).where(table.c.id == row_id).with_for_update()
    )
    if locked is None:
        if await db.fetch_one(select(table.c.id).where(table.c.id == row_id)) is None:
            raise not_found(what, field="id")
        raise ApiError(FORBIDDEN, f"You may not change this {what.lower()}")
    if locked["status"] == status:
        raise ApiError(INVALID_STATE, f"This {what.lower()} is already {status.replace('_', ' ')}")
    row = await db.fetch_one(statement)
    assert row is not None, "a locked row the caller may change, not in `status`"
    return row


async def update_row(
    db: RequestDb, table: Table, row_id: uuid.UUID, values: Mapping[str, Any]
) -> RowMapping | None:
    """The updated row, or None when RLS lets the caller see but not change it."""
    statement = update(table).where(table.c.id == row_id).values(**values)
    if "updated_at" in table.c and "updated_at" not in values:
        statement = statement.values(updated_at=func.now())
    return await db.fetch_one(statement.returning(*table.c))
