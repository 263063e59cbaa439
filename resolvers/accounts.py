"""Logins and who is calling: `login`, `me`, clinics, staff users."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import RowMapping

import resolvers.enums  # noqa: F401  (registers Role as a GraphQL enum)
from graph.api.context import Info
from graph.api.relay import Node
from graph.core.errors import UNAUTHENTICATED, ApiError, bad_input, not_found
from graph.core.identity import Identity, Role
from graph.core.ids import to_global_id
from graph.core.validators import check_password, normalize_email
from graph.security.auth import issue_token
from graph.security.credentials import login_by_email, record_login
from graph.security.passwords import hash_password_async, verify_password_async
from graph.security.ratelimit import login_attempt
from graph.sql.writes import insert_row
from models.accounts import clinics, user_credentials, users

if TYPE_CHECKING:
    from resolvers.patients import Patient
    from resolvers.staff import Physiotherapist

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients")]
PhysiotherapistRef = Annotated["Physiotherapist", strawberry.lazy("resolvers.staff")]

LOGIN_FAILED = "Invalid e-mail or password"


@strawberry.type
class Clinic(Node):
    id: strawberry.ID
    name: str
    cnpj: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> "Clinic":
        return cls(
            id=strawberry.ID(to_global_id("Clinic", row["id"])),
            name=row["name"],
            cnpj=row["cnpj"],
            created_at=row["created_at"],
        )


async def load_clinic(info: Info, clinic_id: uuid.UUID) -> Clinic | None:
    row = await info.context.loaders.by_id(clinics).load(clinic_id)
    return Clinic.from_row(row) if row else None


@strawberry.type
class StaffUser:
    id: strawberry.ID
    email: str
    role: Role
    active: bool

    @classmethod
    def from_row(cls, row: RowMapping) -> "StaffUser":
        return cls(
            id=strawberry.ID(to_global_id("StaffUser", row["id"])),
            email=row["email"],
            role=Role(row["role"]),
            active=row["active"],
        )


@strawberry.type
class Viewer:
    identity: strawberry.Private[Identity]

    @strawberry.field
    def user_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("User", self.identity.user_id))

    @strawberry.field
    def role(self) -> Role:
        return self.identity.role

    @strawberry.field
    async def email(self, info: Info) -> str:
        row = await info.context.loaders.by_id(users).load(self.identity.user_id)
        if row is None:
            raise ApiError(UNAUTHENTICATED, "This login no longer exists")
        return str(row["email"])

    @strawberry.field
    async def clinic(self, info: Info) -> Clinic:
        clinic = await load_clinic(info, self.identity.clinic_id)
        if clinic is None:
            raise not_found("Clinic")
        return clinic

    @strawberry.field
    async def physiotherapist(self, info: Info) -> PhysiotherapistRef | None:
        from resolvers.staff import load_physiotherapist

        physio = self.identity.physiotherapist_id
        return await load_physiotherapist(info, physio) if physio else None

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef | None:
        from resolvers.patients import load_patient

        patient = self.identity.patient_id
        return await load_patient(info, patient) if patient else None


@strawberry.type
class AuthPayload:
    token: str
    expires_at: datetime
    viewer: Viewer


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class CreateStaffUserInput:
    email: str
    password: str
    role: Role


@dataclass(frozen=True)
class Login:
    """A login to create for someone of the caller's clinic."""

    email: str
    password: str
    role: Role
    physiotherapist_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None


async def create_login(info: Info, login: Login) -> uuid.UUID:
    identity = info.context.require_identity()
    row = await insert_row(
        info.context.db,
        user_credentials,
        {
            "clinic_id": identity.clinic_id,
            "email": normalize_email(login.email),
            "password_hash": await hash_password_async(check_password(login.password)),
            "role": login.role.value,
            "physiotherapist_id": login.physiotherapist_id,
            "patient_id": login.patient_id,
        },
        returning=("id",),
    )
    return uuid.UUID(str(row["id"]))


async def log_in(info: Info, input: LoginInput) -> AuthPayload:
    # Reserved as a failure before the password is checked (RATE_LIMITED once the limit is).
    attempt = login_attempt(info.context, input.email)
    try:
        stored = await login_by_email(info.context.db, input.email)
    except BaseException:  # e.g. the database is down: no password was checked
        attempt.withdrawn()
        raise
    valid = await verify_password_async(stored.password_hash if stored else None, input.password)
    if stored is None or not valid or not stored.active:
        raise ApiError(UNAUTHENTICATED, LOGIN_FAILED)
    attempt.succeeded()
    await record_login(info.context.db, stored.identity.user_id)
    settings = info.context.settings
    token, expires_at = issue_token(
        stored.identity, info.context.jwt_secret, settings.jwt_ttl_seconds
    )
    await info.context.switch_identity(stored.identity)
    return AuthPayload(token=token, expires_at=expires_at, viewer=Viewer(identity=stored.identity))


def me(info: Info) -> Viewer:
    return Viewer(identity=info.context.require_identity())


async def create_staff_user(info: Info, input: CreateStaffUserInput) -> StaffUser:
    info.context.require_role(Role.ADMIN)
    if input.role not in (Role.ADMIN, Role.RECEPTIONIST):
        raise bad_input("role", "Staff logins are ADMIN or RECEPTIONIST; see createPhysiotherapist")
    user_id = await create_login(info, Login(input.email, input.password, input.role))
    row = await info.context.loaders.by_id(users).load(user_id)
    assert row is not None, "the new login is visible to the admin who made it"
    return StaffUser.from_row(row)
