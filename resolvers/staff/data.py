"""Physiotherapists at row level: what other areas read of them."""

import uuid

from sqlalchemy import RowMapping

from graph.api.context import Info
from graph.core.errors import not_found
from models.accounts import physiotherapists


async def physiotherapist_row(info: Info, physio_id: uuid.UUID) -> RowMapping | None:
    return await info.context.loaders.by_id(physiotherapists).load(physio_id)


async def required_physiotherapist_row(info: Info, physio_id: uuid.UUID) -> RowMapping:
    """The physiotherapist a visible row points at (a non-null field): NOT_FOUND if not."""
    row = await physiotherapist_row(info, physio_id)
    if row is None:
        raise not_found("Physiotherapist")
    return row
