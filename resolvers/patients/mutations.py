"""`createPatient`, `updatePatient` (only the fields given) and `grantPatientAccess`."""

import uuid
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import strawberry
from strawberry.types.unset import UNSET, UnsetType

from graph.api.builders import from_row
from graph.api.context import Info
from graph.core.errors import FORBIDDEN, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from graph.core.validators import (
    normalize_cns,
    normalize_cpf,
    normalize_email,
    normalize_phone,
    required_text,
)
from graph.sql.writes import insert_row, update_row
from models.accounts import physiotherapists
from models.patients import patients
from resolvers.accounts.data import Login, create_login
from resolvers.patients.data import patient_row
from resolvers.patients.types import ContactChannel, Patient, PatientStatus


@strawberry.input(description="Health insurance (convênio); a provider is required.")
class InsuranceInput:
    provider: str
    plan_name: str | None = None
    member_number: str | None = None
    valid_until: date | None = None


@strawberry.input(description="Whom to call in an emergency: a name and a phone number.")
class EmergencyContactInput:
    name: str
    phone: str
    relationship: str | None = None


@strawberry.input
class CreatePatientInput:
    name: str
    email: str | None = None
    phone: str | None = None
    birth_date: date | None = None
    cpf: str | None = None
    cns: str | None = None
    address: str | None = None
    physiotherapist_id: strawberry.ID | None = None
    contact_channel: ContactChannel | None = strawberry.field(
        default=None, description="Default WHATSAPP."
    )
    insurance: InsuranceInput | None = None
    emergency_contact: EmergencyContactInput | None = None


@strawberry.input(description="Fields not given stay as they are; null clears a field.")
class UpdatePatientInput:
    id: strawberry.ID
    name: str | UnsetType | None = UNSET
    email: str | UnsetType | None = UNSET
    phone: str | UnsetType | None = UNSET
    birth_date: date | UnsetType | None = UNSET
    cpf: str | UnsetType | None = UNSET
    cns: str | UnsetType | None = UNSET
    address: str | UnsetType | None = UNSET
    status: PatientStatus | UnsetType | None = UNSET
    physiotherapist_id: strawberry.ID | UnsetType | None = UNSET
    contact_channel: ContactChannel | UnsetType | None = UNSET
    insurance: InsuranceInput | UnsetType | None = UNSET
    emergency_contact: EmergencyContactInput | UnsetType | None = UNSET


@strawberry.input
class GrantPatientAccessInput:
    patient_id: strawberry.ID
    password: str


Normalizer = Callable[[Any, str], Any]


def _optional(normalize: Callable[[str, str], str]) -> Normalizer:
    """Blank or null clears the field; anything else must pass `normalize`."""

    def apply(value: str | None, field: str) -> str | None:
        return normalize(value, field) if value is not None and value.strip() else None

    return apply


def _free_text(value: str | None, field: str) -> str | None:
    return value.strip() or None if value is not None else None


def _name(value: str | None, field: str) -> str:
    if value is None:
        raise bad_input(field, "name must not be null")
    return required_text(value, field)


def _birth_date(value: date | None, field: str) -> date | None:
    if value is not None and value > date.today():
        raise bad_input(field, "birthDate must not be in the future")
    return value


def _status(value: PatientStatus | None, field: str) -> str:
    if value is None:
        raise bad_input(field, "status must not be null")
    return value.value


def _physiotherapist(value: str | None, field: str) -> uuid.UUID | None:
    return None if value is None else parse_uuid_id(value, "Physiotherapist", field=field)


def _contact_channel(value: ContactChannel | None, field: str) -> str:
    if value is None:
        raise bad_input(field, "contactChannel must not be null (NONE: do not contact)")
    return value.value


def _insurance(value: InsuranceInput | None, field: str) -> dict[str, Any]:
    """The insurance columns: all null for none."""
    if value is None:
        return dict.fromkeys(("provider", "plan_name", "member_number", "valid_until"))
    return {
        "provider": required_text(value.provider, f"{field}.provider"),
        "plan_name": _free_text(value.plan_name, f"{field}.planName"),
        "member_number": _free_text(value.member_number, f"{field}.memberNumber"),
        "valid_until": value.valid_until,
    }


def _emergency_contact(value: EmergencyContactInput | None, field: str) -> dict[str, Any]:
    """The emergency contact columns: all null for none."""
    if value is None:
        return dict.fromkeys(("name", "phone", "relationship"))
    return {
        "name": required_text(value.name, f"{field}.name"),
        "phone": normalize_phone(value.phone, f"{field}.phone"),
        "relationship": _free_text(value.relationship, f"{field}.relationship"),
    }


# Input objects stored as several columns: `<attribute>_<key>` for each key they give.
COLUMN_GROUPS = frozenset({"insurance", "emergency_contact"})

# input attribute → (GraphQL field name for errors, validation/normalization)
PATIENT_FIELDS: dict[str, tuple[str, Normalizer]] = {
    "name": ("name", _name),
    "email": ("email", _optional(normalize_email)),
    "phone": ("phone", _free_text),
    "birth_date": ("birthDate", _birth_date),
    "cpf": ("cpf", _optional(normalize_cpf)),
    "cns": ("cns", _optional(normalize_cns)),
    "address": ("address", _free_text),
    "status": ("status", _status),
    "physiotherapist_id": ("physiotherapistId", _physiotherapist),
    "contact_channel": ("contactChannel", _contact_channel),
    "insurance": ("insurance", _insurance),
    "emergency_contact": ("emergencyContact", _emergency_contact),
}


def _patient_values(given: dict[str, Any]) -> dict[str, Any]:
    """Validated column values for the input fields given (input attribute names)."""
    values: dict[str, Any] = {}
    for attribute, value in given.items():
        field, normalize = PATIENT_FIELDS[attribute]
        normalized = normalize(value, field)
        if attribute in COLUMN_GROUPS:
            values.update({f"{attribute}_{key}": part for key, part in normalized.items()})
        else:
            values[attribute] = normalized
    return values


def _given(input: object, attributes: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(input, name) for name in attributes if getattr(input, name) is not UNSET}


async def _check_physiotherapist_visible(info: Info, values: dict[str, Any]) -> None:
    physio = values.get("physiotherapist_id")
    if (
        physio is not None
        and await info.context.loaders.by_id(physiotherapists).load(physio) is None
    ):
        raise not_found("Physiotherapist", field="physiotherapistId")


async def create_patient(info: Info, input: CreatePatientInput) -> Patient:
    identity = info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)
    given = _given(input, PATIENT_FIELDS.keys() - {"status"})
    if given["contact_channel"] is None:
        del given["contact_channel"]  # the column's default
    values = _patient_values(given)
    if identity.role is Role.PHYSIOTHERAPIST and values.get("physiotherapist_id") is None:
        values["physiotherapist_id"] = identity.physiotherapist_id
    await _check_physiotherapist_visible(info, values)
    row = await insert_row(info.context.db, patients, {**values, "clinic_id": identity.clinic_id})
    return from_row(Patient, row)


async def update_patient(info: Info, input: UpdatePatientInput) -> Patient:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)
    patient_id = parse_uuid_id(input.id, "Patient")
    values = _patient_values(_given(input, PATIENT_FIELDS))
    if await info.context.loaders.by_id(patients).load(patient_id) is None:
        raise not_found("Patient", field="id")
    await _check_physiotherapist_visible(info, values)
    if not values:
        row = await info.context.loaders.by_id(patients).load(patient_id)
        assert row is not None
        return from_row(Patient, row)
    row = await update_row(info.context.db, patients, patient_id, values)
    if row is None:
        raise ApiError(FORBIDDEN, "You may not change this patient")
    return from_row(Patient, row)


async def grant_patient_access(info: Info, input: GrantPatientAccessInput) -> Patient:
    info.context.require_role(Role.ADMIN)
    patient_id = parse_uuid_id(input.patient_id, "Patient", field="patientId")
    row = await patient_row(info, patient_id)
    if row is None:
        raise not_found("Patient", field="patientId")
    patient = from_row(Patient, row)
    if not patient.email:
        raise bad_input("patientId", "The patient needs an e-mail address to log in")
    if patient.anonymized_at is not None:
        raise bad_input("patientId", "An anonymized patient cannot get access")
    await create_login(
        info,
        Login(
            email=patient.email, password=input.password, role=Role.PATIENT, patient_id=patient_id
        ),
    )
    return patient


@strawberry.type
class PatientMutations:
    grant_patient_access: Patient = strawberry.field(resolver=grant_patient_access)
    create_patient: Patient = strawberry.field(resolver=create_patient)
    update_patient: Patient = strawberry.field(resolver=update_patient)
