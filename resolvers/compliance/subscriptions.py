"""`complianceStatusChanged`: the clinic's status, again, whenever a check or an issue changes."""

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from graph.api.context import Info
from graph.realtime.broker import Event, Topic
from graph.sql.session import RequestDb
from resolvers.compliance.queries import STAFF
from resolvers.compliance.status import compute_compliance_status
from resolvers.compliance.types import ComplianceStatus


async def _recompute_status(db: RequestDb, events: list[Event]) -> list[tuple[Event, Any]]:
    """One fresh status per cohort and batch, however many checks and issues changed."""
    assert db.identity is not None
    return [(events[-1], await compute_compliance_status(db, db.identity.clinic_id))]


COMPLIANCE = Topic(
    "complianceStatusChanged",
    frozenset({"compliance_checks", "compliance_issues"}),
    _recompute_status,
)


async def compliance_status_changed(info: Info) -> AsyncGenerator[ComplianceStatus, None]:
    """The clinic's compliance status, again, whenever a check or an issue changes."""
    info.context.require_role(*STAFF)
    async for _, status in info.context.events(COMPLIANCE, lambda event, value: True):
        yield status


@strawberry.type
class ComplianceSubscriptions:
    compliance_status_changed: AsyncGenerator[ComplianceStatus, None] = strawberry.subscription(
        resolver=compliance_status_changed
    )
