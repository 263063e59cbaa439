"""`complianceStatusChanged`: the clinic's status, again, whenever an input of its score changes
(the tables `compliance_metrics()` and the checks read), at most once a second per clinic."""

import dataclasses
from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from graph.api.context import Info
from graph.realtime.broker import Topic
from graph.realtime.event import Event
from graph.sql.session import RequestDb
from resolvers.compliance.queries import STAFF
from resolvers.compliance.status import compute_compliance_status
from resolvers.compliance.types import ComplianceStatus
from resolvers.events import After, event_cursor


async def _recompute_status(db: RequestDb, events: list[Event]) -> list[tuple[Event, Any]]:
    """One fresh status per cohort and batch, however many checks and issues changed."""
    assert db.identity is not None
    return [(events[-1], await compute_compliance_status(db, db.identity.clinic_id))]


def _every_event(event: Event, status: Any) -> bool:
    return True


# What the score reads: the recorded checks and issues, the live data the computed checks
# count (migration 0005's compliance_metrics()), and time: the deadlines passed, told by the
# compliance clock (migration 0026, graph/realtime/compliance_clock.py).
SCORE_INPUTS = frozenset(
    {
        "compliance_clock",
        "compliance_checks",
        "compliance_issues",
        "patients",
        "consents",
        "data_subject_requests",
        "appointments",
        "prontuarios",
    }
)
COMPLIANCE = Topic("complianceStatusChanged", SCORE_INPUTS, _recompute_status, min_interval=1.0)


async def compliance_status_changed(
    info: Info, after: After = None
) -> AsyncGenerator[ComplianceStatus, None]:
    """The clinic's compliance status, again, whenever an input of its score changes: a
    check or an issue, a patient, a consent, a data-subject request, an appointment or a
    prontuário (one status per second at most, however many change; replayed ones: the
    status as it is now)."""
    info.context.require_role(*STAFF)
    async for event, status in info.context.events(COMPLIANCE, _every_event, after=after):
        yield dataclasses.replace(status, cursor=event_cursor(info, event))


@strawberry.type
class ComplianceSubscriptions:
    compliance_status_changed: AsyncGenerator[ComplianceStatus, None] = strawberry.subscription(
        resolver=compliance_status_changed
    )
