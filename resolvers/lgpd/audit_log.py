"""`auditLog`: every audited change and read, for the admin."""

import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy import ColumnElement

from graph.api.builders import row_builder
from graph.api.context import Info
from graph.api.lists import declared_list
from graph.api.relay import Connection, list_connection
from graph.core.errors import bad_input
from graph.core.identity import Role
from graph.core.ids import parse_global_id
from graph.sql.declared import filter_conditions
from graph.sql.list_query import ListQuery
from models.compliance import audit_log
from resolvers.lgpd.types import AuditEntry

OPERATIONS = ("INSERT", "UPDATE", "DELETE", "SELECT")


def _local_uuid(global_id: str, field: str, types: tuple[str, ...] | None = None) -> uuid.UUID:
    type_name, local_id = parse_global_id(global_id, field=field)
    if types is not None and type_name not in types:
        raise bad_input(field, f"Expected the ID of a {' or '.join(types)}")
    try:
        return uuid.UUID(local_id)
    except ValueError:
        raise bad_input(field, "Malformed ID") from None


@declared_list("AuditEntry")
async def audit_log_entries(
    info: Info,
    query: ListQuery,
    table_name: str | None = None,
    record_id: strawberry.ID | None = None,
    actor_id: strawberry.ID | None = None,
    operation: str | None = None,
    from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
    to: datetime | None = None,
) -> Connection[AuditEntry]:
    """Admin only. Oldest first: `last: N` gives the N most recent entries."""
    info.context.require_role(Role.ADMIN)
    c = audit_log.c
    conditions: list[ColumnElement[bool]] = []
    if record_id is not None:
        conditions.append(c.record_id == _local_uuid(record_id, "recordId"))
    if actor_id is not None:
        conditions.append(c.actor_id == _local_uuid(actor_id, "actorId", ("User", "StaffUser")))
    if operation is not None:
        op = operation.strip().upper()
        if op not in OPERATIONS:
            raise bad_input("operation", f"operation is one of {', '.join(OPERATIONS)}")
        conditions.append(c.operation == op)
    given = {"tableName": table_name, "from": from_, "to": to}
    conditions += filter_conditions("AuditEntry", given, prefix="")
    return await list_connection(
        info.context.db,
        audit_log,
        query,
        row_builder(AuditEntry),
        conditions,
    )
