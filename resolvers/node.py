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

from graph.api.context import Info
from graph.api.relay import Node
from graph.core.errors import ApiError, bad_input
from graph.core.ids import parse_global_id
from resolvers.accounts import load_clinic
from resolvers.clinical import load_prontuario
from resolvers.compliance import load_compliance_check, load_compliance_issue
from resolvers.exercises import load_execution, load_exercise, load_prescription
from resolvers.lgpd import load_audit_entry, load_consent, load_data_subject_request
from resolvers.patients import load_patient
from resolvers.payments import load_payment
from resolvers.scheduling import load_appointment
from resolvers.staff import load_physiotherapist

NodeLoader = Callable[[Info, uuid.UUID], Awaitable[Node | None]]

NODE_LOADERS: dict[str, NodeLoader] = {
    "Clinic": load_clinic,
    "Patient": load_patient,
    "Physiotherapist": load_physiotherapist,
    "Appointment": load_appointment,
    "Payment": load_payment,
    "Prontuario": load_prontuario,
    "Exercise": load_exercise,
    "ExercisePrescription": load_prescription,
    "ExerciseExecution": load_execution,
    "Consent": load_consent,
    "DataSubjectRequest": load_data_subject_request,
    "ComplianceCheck": load_compliance_check,
    "ComplianceIssue": load_compliance_issue,
}
# Types whose local id is not a uuid (audit_log ids are bigint).
INT_NODE_LOADERS: dict[str, Callable[[Info, int], Awaitable[Node | None]]] = {
    "AuditEntry": load_audit_entry,
}


def _lookup(info: Info, global_id: str) -> Awaitable[Node | None] | None:
    """The load of the node a global ID names; None for a malformed ID or an unknown type."""
    try:
        type_name, local_id = parse_global_id(global_id)
        int_loader = INT_NODE_LOADERS.get(type_name)
        if int_loader is not None:
            return int_loader(info, int(local_id))
        loader = NODE_LOADERS.get(type_name)
        return loader(info, uuid.UUID(local_id)) if loader else None
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
