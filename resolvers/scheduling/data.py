"""Appointments at row level: their order, the filter of their lists (for both read paths) and
the nested lists other areas' types show (`Patient.appointments`,
`Physiotherapist.appointments`)."""

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement, RowMapping

from graph.api.context import Info
from graph.core.ids import parse_uuid_id
from graph.core.validators import aware
from graph.sql.compiler import FilterCondition, id_of, one_of
from graph.sql.loaders import ChildList
from graph.sql.pagination import SortKey
from models.scheduling import appointments

APPOINTMENT_SORT = SortKey((appointments.c.starts_at, appointments.c.id))


class AppointmentFilterFields(Protocol):
    """What an `AppointmentFilter` input (resolvers/scheduling/types.py) carries."""

    @property
    def from_(self) -> datetime | None: ...
    @property
    def to(self) -> datetime | None: ...
    @property
    def status(self) -> Sequence[enum.Enum] | None: ...
    @property
    def physiotherapist_id(self) -> str | None: ...
    @property
    def patient_id(self) -> str | None: ...


@dataclass(frozen=True)
class AppointmentCriteria:
    """A validated, hashable AppointmentFilter (it keys the batched nested-list loaders)."""

    starts_from: datetime | None = None
    starts_before: datetime | None = None
    statuses: tuple[str, ...] = ()
    physiotherapist_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None

    @classmethod
    def of(cls, filter: AppointmentFilterFields | None) -> "AppointmentCriteria":
        if filter is None:
            return cls()
        return cls(
            starts_from=aware(filter.from_, "filter.from") if filter.from_ else None,
            starts_before=aware(filter.to, "filter.to") if filter.to else None,
            statuses=tuple(s.value for s in filter.status or ()),
            physiotherapist_id=parse_uuid_id(
                filter.physiotherapist_id, "Physiotherapist", field="filter.physiotherapistId"
            )
            if filter.physiotherapist_id
            else None,
            patient_id=parse_uuid_id(filter.patient_id, "Patient", field="filter.patientId")
            if filter.patient_id
            else None,
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        c = appointments.c
        conditions: list[ColumnElement[bool]] = []
        if self.starts_from is not None:
            conditions.append(c.starts_at >= self.starts_from)
        if self.starts_before is not None:
            conditions.append(c.starts_at < self.starts_before)
        if self.statuses:
            conditions.append(c.status.in_(self.statuses))
        if self.physiotherapist_id is not None:
            conditions.append(c.physiotherapist_id == self.physiotherapist_id)
        if self.patient_id is not None:
            conditions.append(c.patient_id == self.patient_id)
        return conditions


# The same conditions for the query compiler (graph/sql/compiler.py), on its row alias `{t}`.
APPOINTMENT_FILTER = {
    "from": FilterCondition(
        "{t}.starts_at >= {v}", "timestamptz", lambda value: aware(value, "filter.from")
    ),
    "to": FilterCondition("{t}.starts_at < {v}", "timestamptz", lambda v: aware(v, "filter.to")),
    "status": one_of("status"),
    "physiotherapistId": id_of("physiotherapist_id", "Physiotherapist", "filter.physiotherapistId"),
    "patientId": id_of("patient_id", "Patient", "filter.patientId"),
}

APPOINTMENTS_OF_PATIENT = ChildList(
    appointments, "patient_id", APPOINTMENT_SORT, AppointmentCriteria.conditions
)
APPOINTMENTS_OF_PHYSIOTHERAPIST = ChildList(
    appointments, "physiotherapist_id", APPOINTMENT_SORT, AppointmentCriteria.conditions
)


async def appointment_row(info: Info, appointment_id: uuid.UUID) -> RowMapping | None:
    return await info.context.loaders.by_id(appointments).load(appointment_id)
