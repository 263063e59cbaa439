"""Adherence: the executions logged within a prescription's period ÷ those expected so far."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, any_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Uuid

from graph.api.context import Info
from graph.core.calendar import TIME_ZONE_NAME, clinic_today
from models.exercises import exercise_executions, exercise_prescriptions


@dataclass(frozen=True)
class Adherence:
    """What `adherence` needs of a prescription, and the figure."""

    frequency_per_week: int
    starts_on: date
    ends_on: date | None

    def expected(self, today: date) -> float:
        end = min(self.ends_on, today) if self.ends_on else today
        days = (end - self.starts_on).days + 1
        return self.frequency_per_week * days / 7 if days > 0 else 0.0

    def ratio(self, done: int, today: date) -> float | None:
        expected = self.expected(today)
        if expected <= 0:
            return None
        return round(min(1.0, max(0.0, done / expected)), 4)


def _executions_in_period_statement() -> Any:
    """Per prescription, the executions whose clinic-calendar date lies in its period."""
    p, e = exercise_prescriptions, exercise_executions
    local_day = cast(func.timezone(TIME_ZONE_NAME, e.c.executed_at), Date)
    period_end = func.least(func.coalesce(p.c.ends_on, bindparam("today")), bindparam("today"))
    return (
        select(e.c.prescription_id, func.count().label("n"))
        .join(p, p.c.id == e.c.prescription_id)
        .where(
            e.c.prescription_id == any_(bindparam("ids", type_=ARRAY(Uuid()))),
            local_day >= p.c.starts_on,
            local_day <= period_end,
        )
        .group_by(e.c.prescription_id)
    )


async def executions_in_period(info: Info, prescription_id: uuid.UUID) -> int:
    """Batched across every prescription of the request: one statement per level."""
    db, today = info.context.db, clinic_today()

    async def load(ids: list[uuid.UUID]) -> list[int]:
        rows = await db.fetch(_executions_in_period_statement(), {"ids": ids, "today": today})
        counts = {row["prescription_id"]: row["n"] for row in rows}
        return [int(counts.get(i, 0)) for i in ids]

    count: int = await info.context.loaders.batch("executions_in_period", load).load(
        prescription_id
    )
    return count
