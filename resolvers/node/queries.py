"""`node(id:)` and `nodes(ids:)`: any global ID the caller may see, else null.

An ID that is malformed, of an unknown type, of a row that does not exist or that the caller
may not see is null alike (API.md). `nodes(ids:)` takes at most `FISIOFLOW_MAX_PAGE_SIZE` ids
(like `first`) and costs one statement per type asked for, whatever the number of ids: each
type's loader is a per-request dataloader (graph/sql/loaders.py `by_id`), and the ids are all
asked for in the same tick.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import strawberry
from sqlalchemy import RowMapping, Table

from graph.api.context import Info
from graph.api.relay import Node
from graph.core.errors import ApiError, bad_input
from graph.core.ids import parse_global_id
from models.compliance import compliance_checks, compliance_issues, consents, data_subject_requests
from models.exercises import exercise_executions, exercise_prescriptions, exercises
from resolvers.accounts.data import clinic_row
from resolvers.clinical.data import prontuario_row
from resolvers.lgpd.data import audit_entry_row
from resolvers.objects import build
from resolvers.patients.data import patient_row
from resolvers.payments.data import payment_row
from resolvers.scheduling.data import appointment_row
from resolvers.staff.data import physiotherapist_row

RowLoader = Callable[[Info, uuid.UUID], Awaitable[RowMapping | None]]


def _by_id(table: Table) -> RowLoader:
    async def load(info: Info, row_id: uuid.UUID) -> RowMapping | None:
        return await info.context.loaders.by_id(table).load(row_id)

    return load


# The row of each node type (built by resolvers.objects).
NODE_LOADERS: dict[str, RowLoader] = {
    "Clinic": clinic_row,
    "Patient": patient_row,
    "Physiotherapist": physiotherapist_row,
    "Appointment": appointment_row,
    "Payment": payment_row,
    "Prontuario": prontuario_row,  # the read is logged
    "Exercise": _by_id(exercises),
    "ExercisePrescription": _by_id(exercise_prescriptions),
    "ExerciseExecution": _by_id(exercise_executions),
    "Consent": _by_id(consents),
    "DataSubjectRequest": _by_id(data_subject_requests),
    "ComplianceCheck": _by_id(compliance_checks),
    "ComplianceIssue": _by_id(compliance_issues),
}
# Types whose local id is not a uuid (audit_log ids are bigint).
INT_NODE_LOADERS: dict[str, Callable[[Info, int], Awaitable[RowMapping | None]]] = {
    "AuditEntry": audit_entry_row,
}


async def _node(type_name: str, row: Awaitable[RowMapping | None]) -> Node | None:
    loaded = await row
    return build(type_name, loaded) if loaded is not None else None


def _lookup(info: Info, global_id: str) -> Awaitable[Node | None] | None:
    """The load of the node a global ID names; None for a malformed ID or an unknown type."""
    try:
        type_name, local_id = parse_global_id(global_id)
        int_loader = INT_NODE_LOADERS.get(type_name)
        if int_loader is not None:
            return _node(type_name, int_loader(info, int(local_id)))
        loader = NODE_LOADERS.get(type_name)
        return _node(type_name, loader(info, uuid.UUID(local_id))) if loader else None
    except (ApiError, ValueError):
        return None


async def resolve_node(info: Info, global_id: str) -> Node | None:
    """The node, or None for an ID that names nothing the caller may see. A database failure
    (TIMEOUT, SERVICE_UNAVAILABLE) is an error, not a null."""
    info.context.require_identity()
    lookup = _lookup(info, global_id)
    return await lookup if lookup is not None else None


async def node(info: Info, id: strawberry.ID) -> Node | None:
    return await resolve_node(info, id)


async def nodes(info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
    most = info.context.settings.max_page_size
    if len(ids) > most:
        raise bad_input("ids", f"At most {most} ids at once")
    return list(await asyncio.gather(*(resolve_node(info, i) for i in ids)))


@strawberry.type
class NodeQueries:
    node: Node | None = strawberry.field(resolver=node)
    nodes: list[Node | None] = strawberry.field(resolver=nodes)
