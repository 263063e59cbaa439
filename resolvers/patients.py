"""Patients: the type, the `patients` list, and create / update / grant app access."""

import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, RowMapping, String, cast, func, or_
from strawberry.types.unset import UNSET, UnsetType

from graph.api.context import Info
from graph.api.relay import Connection, Node, child_connection, list_connection
from graph.core.errors import FORBIDDEN, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id, to_global_id
from graph.core.validators import (
    check_password,
    normalize_cns,
    normalize_cpf,
    normalize_email,
    required_text,
)
from graph.sql.compiler import FilterCondition, id_of
from graph.sql.loaders import ChildList
from graph.sql.pagination import PageArgs, SortKey
from graph.sql.writes import insert_row, update_row
from models.accounts import physiotherapists
from models.patients import patients
from resolvers.accounts import Login, create_login
from resolvers.enums import PatientStatus

if TYPE_CHECKING:
    from resolvers.clinical import Prontuario
    from resolvers.exercises import ExercisePrescription, PrescriptionStatus
    from resolvers.lgpd import Consent
    from resolvers.payments import Payment
    from resolvers.scheduling import Appointment, AppointmentFilter
    from resolvers.staff import Physiotherapist

PhysiotherapistRef = Annotated["Physiotherapist", strawberry.lazy("resolvers.staff")]
AppointmentRef = Annotated["Appointment", strawberry.lazy("resolvers.scheduling")]
AppointmentFilterRef = Annotated["AppointmentFilter", strawberry.lazy("resolvers.scheduling")]
PaymentRef = Annotated["Payment", strawberry.lazy("resolvers.payments")]
ProntuarioRef = Annotated["Prontuario", strawberry.lazy("resolvers.clinical")]
PrescriptionRef = Annotated["ExercisePrescription", strawberry.lazy("resolvers.exercises")]
PrescriptionStatusRef = Annotated["PrescriptionStatus", strawberry.lazy("resolvers.exercises")]
ConsentRef = Annotated["Consent", strawberry.lazy("resolvers.lgpd")]

PATIENT_SORT = SortKey((patients.c.name, patients.c.id))


@strawberry.input
class PatientFilter:
    search: str | None = None
    status: PatientStatus | None = None
    physiotherapist_id: strawberry.ID | None = None


def _filter_conditions(filter: PatientFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.search and filter.search.strip():
        term = filter.search.strip().lower()
        name = func.immutable_unaccent(func.lower(patients.c.name))
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches = [name.like(func.immutable_unaccent(pattern)), patients.c.email.ilike(pattern)]
        term_digits = "".join(ch for ch in term if ch.isdigit())
        if len(term_digits) >= 3:
            matches.append(cast(patients.c.cpf, String).like(term_digits + "%"))
        conditions.append(or_(*matches))
    if filter.status is not None:
        conditions.append(patients.c.status == filter.status.value)
    if filter.physiotherapist_id is not None:
        physio = parse_uuid_id(
            filter.physiotherapist_id, "Physiotherapist", field="filter.physiotherapistId"
        )
        conditions.append(patients.c.physiotherapist_id == physio)
    return conditions


# The same conditions for the query compiler (graph/sql/compiler.py), on its row alias `{t}`;
# `search` (accents, e-mail and CPF digits) is left to the resolvers.
PATIENT_FILTER = {
    "status": FilterCondition("{t}.status = {v}", "text", lambda status: status.value),
    "physiotherapistId": id_of("physiotherapist_id", "Physiotherapist", "filter.physiotherapistId"),
}


@strawberry.type
class Patient(Node):
    id: strawberry.ID
    name: str
    email: str | None
    phone: str | None
    birth_date: date | None
    cpf: str | None
    cns: str | None
    address: str | None
    status: PatientStatus
    created_at: datetime
    updated_at: datetime
    anonymized_at: datetime | None
    db_id: strawberry.Private[uuid.UUID]
    physiotherapist_db_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: RowMapping) -> "Patient":
        return cls(
            id=strawberry.ID(to_global_id("Patient", row["id"])),
            name=row["name"],
            email=row["email"],
            phone=row["phone"],
            birth_date=row["birth_date"],
            cpf=row["cpf"],
            cns=row["cns"],
            address=row["address"],
            status=PatientStatus(row["status"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            anonymized_at=row["anonymized_at"],
            db_id=row["id"],
            physiotherapist_db_id=row["physiotherapist_id"],
        )

    @strawberry.field
    async def appointments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: AppointmentFilterRef | None = None,
    ) -> Connection[AppointmentRef]:
        from resolvers.scheduling import APPOINTMENTS_OF_PATIENT, appointments_of

        page = PageArgs.parse(first, after, last, before)
        return await appointments_of(info, APPOINTMENTS_OF_PATIENT, self.db_id, page, filter)

    @strawberry.field
    async def payments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PaymentRef]:
        from resolvers.payments import payments_of_patient

        page = PageArgs.parse(first, after, last, before)
        return await payments_of_patient(info, self.db_id, page)

    @strawberry.field
    async def prontuarios(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ProntuarioRef]:
        from resolvers.clinical import prontuarios_of_patient

        page = PageArgs.parse(first, after, last, before)
        return await prontuarios_of_patient(info, self.db_id, page)

    @strawberry.field
    async def prescriptions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        status: PrescriptionStatusRef | None = None,
    ) -> Connection[PrescriptionRef]:
        from resolvers.exercises import prescriptions_of_patient

        page = PageArgs.parse(first, after, last, before)
        return await prescriptions_of_patient(info, self.db_id, page, status)

    @strawberry.field
    async def physiotherapist(self, info: Info) -> PhysiotherapistRef | None:
        from resolvers.staff import load_physiotherapist

        if self.physiotherapist_db_id is None:
            return None
        return await load_physiotherapist(info, self.physiotherapist_db_id)

    @strawberry.field
    async def care_team(self, info: Info) -> list[PhysiotherapistRef]:
        """Physiotherapists an admin or receptionist put on the patient's care team: they
        treat the patient beside the assigned one."""
        from resolvers.care_team import care_team_ids
        from resolvers.staff import Physiotherapist

        loader = info.context.loaders.by_id(physiotherapists)
        rows = await loader.load_many(await care_team_ids(info, self.db_id))
        return [Physiotherapist.from_row(row) for row in rows if row is not None]

    @strawberry.field  # every consent the patient gave, revoked ones included
    async def consents(self, info: Info) -> list[ConsentRef]:
        from resolvers.lgpd import consents_of_patient

        return await consents_of_patient(info, self.db_id)


async def load_patient(info: Info, patient_id: uuid.UUID) -> Patient | None:
    row = await info.context.loaders.by_id(patients).load(patient_id)
    return Patient.from_row(row) if row else None


async def required_patient(info: Info, patient_id: uuid.UUID) -> Patient:
    """The patient a visible row points at (a non-null field): NOT_FOUND if not visible."""
    patient = await load_patient(info, patient_id)
    if patient is None:
        raise not_found("Patient")
    return patient


PATIENTS_OF_PHYSIOTHERAPIST = ChildList(patients, "physiotherapist_id", PATIENT_SORT)


async def patients_of_physiotherapist(
    info: Info, physiotherapist_id: uuid.UUID, page: PageArgs
) -> Connection[Patient]:
    return await child_connection(
        info.context.loaders,
        PATIENTS_OF_PHYSIOTHERAPIST,
        physiotherapist_id,
        page,
        Patient.from_row,
    )


async def list_patients(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: PatientFilter | None = None,
) -> Connection[Patient]:
    info.context.require_identity()
    page = PageArgs.parse(first, after, last, before)
    return await list_connection(
        info.context.db, patients, PATIENT_SORT, page, Patient.from_row, _filter_conditions(filter)
    )


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


@strawberry.input
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
}


def _patient_values(given: dict[str, Any]) -> dict[str, Any]:
    """Validated column values for the input fields given (input attribute names)."""
    values: dict[str, Any] = {}
    for attribute, value in given.items():
        field, normalize = PATIENT_FIELDS[attribute]
        values[attribute] = normalize(value, field)
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
    values = _patient_values(_given(input, PATIENT_FIELDS.keys() - {"status"}))
    if identity.role is Role.PHYSIOTHERAPIST and values.get("physiotherapist_id") is None:
        values["physiotherapist_id"] = identity.physiotherapist_id
    await _check_physiotherapist_visible(info, values)
    row = await insert_row(info.context.db, patients, {**values, "clinic_id": identity.clinic_id})
    return Patient.from_row(row)


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
        return Patient.from_row(row)
    row = await update_row(info.context.db, patients, patient_id, values)
    if row is None:
        raise ApiError(FORBIDDEN, "You may not change this patient")
    return Patient.from_row(row)


async def grant_patient_access(info: Info, input: GrantPatientAccessInput) -> Patient:
    info.context.require_role(Role.ADMIN)
    patient_id = parse_uuid_id(input.patient_id, "Patient", field="patientId")
    password = check_password(input.password)
    patient = await load_patient(info, patient_id)
    if patient is None:
        raise not_found("Patient", field="patientId")
    if not patient.email:
        raise bad_input("patientId", "The patient needs an e-mail address to log in")
    if patient.anonymized_at is not None:
        raise bad_input("patientId", "An anonymized patient cannot get access")
    await create_login(
        info,
        Login(email=patient.email, password=password, role=Role.PATIENT, patient_id=patient_id),
    )
    return patient
