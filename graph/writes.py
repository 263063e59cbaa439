"""Inserts and updates that return the written row, through the request's RLS transaction."""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import RowMapping, Table, TableClause, func, insert, update

from graph.session import RequestDb


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


async def update_row(
    db: RequestDb, table: Table, row_id: uuid.UUID, values: Mapping[str, Any]
) -> RowMapping | None:
    """The updated row, or None when RLS lets the caller see but not change it."""
    statement = update(table).where(table.c.id == row_id).values(**values)
    if "updated_at" in table.c and "updated_at" not in values:
        statement = statement.values(updated_at=func.now())
    return await db.fetch_one(statement.returning(*table.c))
