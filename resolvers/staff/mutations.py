"""`createPhysiotherapist` (with a login if given a password) and `createStaffUser`."""

import strawberry

from graph.api.builders import from_row
from graph.api.context import Info
from graph.core.errors import bad_input
from graph.core.identity import Role
from graph.core.validators import check_password, normalize_crefito, normalize_email, required_text
from graph.sql.writes import insert_row
from models.accounts import physiotherapists, users
from resolvers.accounts.data import Login, create_login
from resolvers.staff.types import Physiotherapist, StaffUser


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


@strawberry.input
class CreateStaffUserInput:
    email: str
    password: str
    role: Role


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
    return from_row(Physiotherapist, row)


async def create_staff_user(info: Info, input: CreateStaffUserInput) -> StaffUser:
    info.context.require_role(Role.ADMIN)
    if input.role not in (Role.ADMIN, Role.RECEPTIONIST):
        raise bad_input("role", "Staff logins are ADMIN or RECEPTIONIST; see createPhysiotherapist")
    user_id = await create_login(info, Login(input.email, input.password, input.role))
    row = await info.context.loaders.by_id(users).load(user_id)
    assert row is not None, "the new login is visible to the admin who made it"
    return from_row(StaffUser, row)


@strawberry.type
class StaffMutations:
    create_physiotherapist: Physiotherapist = strawberry.field(resolver=create_physiotherapist)
    create_staff_user: StaffUser = strawberry.field(resolver=create_staff_user)
