"""`createPhysiotherapist` (with a login if given a password), `updatePhysiotherapist`,
`createStaffUser`, and an admin's control of the staff's logins: `deactivateLogin`,
`reactivateLogin`, `resetPassword`."""

import secrets
import uuid

import strawberry
from strawberry.types.unset import UNSET, UnsetType

from graph.api.builders import from_row
from graph.api.context import Info
from graph.api.partial_updates import Settable, as_is, given_values
from graph.core.errors import FORBIDDEN, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_global_id
from graph.core.validators import normalize_crefito, normalize_email, required_text
from graph.security.passwords import check_password, hash_password_async
from graph.sql.writes import insert_row, update_row
from models.accounts import physiotherapists, users
from resolvers.accounts.data import Login, create_login
from resolvers.staff.data import physiotherapist_row, reset_password, staff_login_row
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
        check_password(input.password, str(values["email"]))
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


@strawberry.input
class UpdatePhysiotherapistInput:
    """Only the fields given change."""

    id: strawberry.ID
    name: str | UnsetType | None = UNSET
    email: str | UnsetType | None = UNSET
    phone: str | UnsetType | None = UNSET
    specialty: str | UnsetType | None = UNSET
    crefito: str | UnsetType | None = UNSET
    active: bool | UnsetType | None = UNSET


@strawberry.input
class StaffLoginInput:
    user_id: strawberry.ID = strawberry.field(description="A StaffUser's (or the viewer's) ID.")


@strawberry.type
class ResetPasswordPayload:
    staff_user: StaffUser
    temporary_password: str = strawberry.field(
        description="Shown once: the login must change it at its next login."
    )


def _trimmed(value: str, field: str) -> str | None:
    return value.strip() or None


PHYSIOTHERAPIST_FIELDS: Settable = {
    "name": ("name", required_text, False),
    "email": ("email", normalize_email, False),
    "phone": ("phone", _trimmed, True),
    "specialty": ("specialty", _trimmed, True),
    "crefito": ("crefito", normalize_crefito, False),
    "active": ("active", as_is, False),
}


async def update_physiotherapist(info: Info, input: UpdatePhysiotherapistInput) -> Physiotherapist:
    info.context.require_role(Role.ADMIN)
    physio_id = _local_id(input.id, ("Physiotherapist",), "id")
    values = given_values(input, PHYSIOTHERAPIST_FIELDS)
    if await physiotherapist_row(info, physio_id) is None:
        raise not_found("Physiotherapist", field="id")
    if not values:
        row = await physiotherapist_row(info, physio_id)
    else:
        row = await update_row(info.context.db, physiotherapists, physio_id, values)
    if row is None:
        raise ApiError(FORBIDDEN, "You may not change this physiotherapist")
    return from_row(Physiotherapist, row)


def _local_id(global_id: str, types: tuple[str, ...], field: str) -> uuid.UUID:
    type_name, local_id = parse_global_id(global_id, field=field)
    if type_name not in types:
        raise bad_input(field, f"Expected the ID of a {' or '.join(types)}")
    try:
        return uuid.UUID(local_id)
    except ValueError:
        raise bad_input(field, "Malformed ID") from None


async def _staff_login(info: Info, input: StaffLoginInput) -> uuid.UUID:
    """The staff login `input.userId` names, for an admin; NOT_FOUND when not one of theirs."""
    info.context.require_role(Role.ADMIN)
    user_id = _local_id(input.user_id, ("StaffUser", "User"), "userId")
    if await staff_login_row(info, user_id) is None:
        raise not_found("Staff login", field="userId")
    return user_id


async def _set_active(info: Info, input: StaffLoginInput, active: bool) -> StaffUser:
    """The database refuses an admin's own login and the clinic's last active admin
    (users_keep_an_admin, migration 0016)."""
    user_id = await _staff_login(info, input)
    row = await update_row(info.context.db, users, user_id, {"active": active})
    if row is None:
        raise ApiError(FORBIDDEN, "You may not change this login")
    return from_row(StaffUser, row)


async def deactivate_login(info: Info, input: StaffLoginInput) -> StaffUser:
    """At once: the login's tokens stop working on the next request, and its open
    subscriptions end with UNAUTHENTICATED. Reactivating does not revive those tokens."""
    return await _set_active(info, input, False)


async def reactivate_login(info: Info, input: StaffLoginInput) -> StaffUser:
    return await _set_active(info, input, True)


async def reset_login_password(info: Info, input: StaffLoginInput) -> ResetPasswordPayload:
    """A random temporary password, shown once; the login's tokens stop working, and its next
    login may only change the password."""
    identity = info.context.require_role(Role.ADMIN)
    user_id = await _staff_login(info, input)
    if user_id == identity.user_id:
        raise bad_input("userId", "Change your own password with changePassword")
    temporary = secrets.token_urlsafe(12)
    row = await reset_password(info.context.db, user_id, await hash_password_async(temporary))
    if row is None:
        raise ApiError(FORBIDDEN, "You may not change this login")
    return ResetPasswordPayload(staff_user=from_row(StaffUser, row), temporary_password=temporary)


@strawberry.type
class StaffMutations:
    create_physiotherapist: Physiotherapist = strawberry.field(resolver=create_physiotherapist)
    update_physiotherapist: Physiotherapist = strawberry.field(resolver=update_physiotherapist)
    create_staff_user: StaffUser = strawberry.field(resolver=create_staff_user)
    deactivate_login: StaffUser = strawberry.field(resolver=deactivate_login)
    reactivate_login: StaffUser = strawberry.field(resolver=reactivate_login)
    reset_password: ResetPasswordPayload = strawberry.field(resolver=reset_login_password)
