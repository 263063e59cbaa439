"""The clinic's aggregates the computed checks score, from one SECURITY DEFINER function (so
every staff role sees the same numbers whatever rows its own RLS shows)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from graph.sql.session import RequestDb


@dataclass(frozen=True)
class Metrics:
    """The clinic's aggregates, from compliance_metrics() (migration 0005)."""

    active_patients: int
    consented_patients: int
    open_requests: int
    overdue_requests: int
    oldest_overdue_due_at: datetime | None
    requests_due_soon: int
    unanswered_revocations: int
    oldest_unanswered_revocation_at: datetime | None
    completed_appointments: int
    appointments_without_record: int
    total_prontuarios: int
    prontuarios_without_crefito: int
    audited_tables: tuple[str, ...]
    unaudited_tables: tuple[str, ...]


async def fetch_metrics(db: RequestDb) -> Metrics:
    row = await db.fetch_one(text("select * from compliance_metrics()"))
    assert row is not None, "compliance_metrics() returns one row"
    values = dict(row)
    values["audited_tables"] = tuple(values["audited_tables"] or ())
    values["unaudited_tables"] = tuple(values["unaudited_tables"] or ())
    return Metrics(**values)
