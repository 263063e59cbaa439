"""Physiotherapists: the type, the `physiotherapists` list and `createPhysiotherapist`."""

import uuid

import strawberry
from sqlalchemy import RowMapping

from graph.api.context import Info
from graph.api.relay import Connection, Node, list_connection
from graph.core.errors import not_found
from graph.core.identity import Role
from graph.core.ids import to_global_id
from graph.core.validators import check_password, normalize_crefito, normalize_email, required_text
from graph.sql.pagination import PageArgs, SortKey
from graph.sql.writes import insert_row
from models.accounts import physiotherapists
from resolvers.accounts import Login, create_login
from resolvers.patients import Patient, patients_of_physiotherapist
from resolvers.scheduling import (
    APPOINTMENTS_OF_PHYSIOTHERAPIST,
    Appointment,
    AppointmentFilter,
    appointments_of,
)

PHYSIOTHERAPIST_SORT = SortKey((physiotherapists.c.name, physiotherapists.c.id))


@strawberry.type
class Physiotherapist(Node):
    id: strawberry.ID
    name: str
    email: str
    crefito: str
    specialty: str | None
    phone: str | None
    active: bool
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: RowMapping) -> "Physiotherapist":
        return cls(
            id=strawberry.ID(to_global_id("Physiotherapist", row["id"])),
            name=row["name"],
            email=row["email"],
            crefito=row["crefito"],
            specialty=row["specialty"],
            phone=row["phone"],
            active=row["active"],
            db_id=row["id"],
        )

    @strawberry.field
    async def patients(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Patient]:
        return await patients_of_physiotherapist(info, self.db_id, PageArgs.parse(first, after))

    @strawberry.field
    async def appointments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: AppointmentFilter | None = None,
    ) -> Connection[Appointment]:
        page = PageArgs.parse(first, after, last, before)
        return await appointments_of(
            info, APPOINTMENTS_OF_PHYSIOTHERAPIST, self.db_id, page, filter
        )


async def load_physiotherapist(info: Info, physio_id: uuid.UUID) -> Physiotherapist | None:
    row = await info.context.loaders.by_id(physiotherapists).load(physio_id)
    return Physiotherapist.from_row(row) if row else None


async def required_physiotherapist(info: Info, physio_id: uuid.UUID) -> Physiotherapist:
    """The physiotherapist a visible row points at (a non-null field): NOT_FOUND if not."""
    physio = await load_physiotherapist(info, physio_id)
    if physio is None:
        raise not_found("Physiotherapist")
    return physio


async def list_physiotherapists(
    info: Info, first: int | None = None, after: str | None = None
) -> Connection[Physiotherapist]:
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        physiotherapists,
        PHYSIOTHERAPIST_SORT,
        PageArgs.parse(first, after),
        Physiotherapist.from_row,
    )


@strawberry.input
class CreatePhysiotherapistInput:
    name: str
    email: str
    crefito: str
    specialty: str | None = None
    phone: str | None = None
    password: str | None = strawberry.field(
        default=None, description="Given: the physiotherapist also gets a login."
    )


async def create_physiotherapist(info: Info, input: CreatePhysiotherapistInput) -> Physiotherapist:
    identity = info.context.require_role(Role.ADMIN)
    values = {
        "clinic_id": identity.clinic_id,
        "name": required_text(input.name, "name"),
        "email": normalize_email(input.email),
        "crefito": normalize_crefito(input.crefito),
        "specialty": (input.specialty or "").strip() or None,
        "phone": (input.phone or "").strip() or None,
    }
    if input.password is not None:
        check_password(input.password)
    row = await insert_row(info.context.db, physiotherapists, values)
    if input.password is not None:
        login = Login(
            input.email, input.password, Role.PHYSIOTHERAPIST, physiotherapist_id=row["id"]
        )
        await create_login(info, login)
    return Physiotherapist.from_row(row)
