"""Logins and clinics at row level: what the staff and patients areas call to create a login."""

import uuid
from dataclasses import dataclass

from sqlalchemy import RowMapping

from graph.api.context import Info
from graph.core.identity import Role
from graph.core.validators import normalize_email
from graph.security.passwords import check_password, hash_password_async
from graph.sql.writes import insert_row
from models.accounts import clinics, user_credentials


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
    email = normalize_email(login.email)
    password = check_password(login.password, email)
    row = await insert_row(
        info.context.db,
        user_credentials,
        {
            "clinic_id": identity.clinic_id,
            "email": email,
            "password_hash": await hash_password_async(password),
            "role": login.role.value,
            "physiotherapist_id": login.physiotherapist_id,
            "patient_id": login.patient_id,
        },
        returning=("id",),
    )
    return uuid.UUID(str(row["id"]))


async def clinic_row(info: Info, clinic_id: uuid.UUID) -> RowMapping | None:
    return await info.context.loaders.by_id(clinics).load(clinic_id)
