"""`updateClinicalProfile` (allergies, conditions, medications) and `recordVitalSigns`: the
patient's clinical data, written by a physiotherapist who treats the patient. The database
decides (RLS of migration 0019: FORBIDDEN on `patientId` otherwise) and holds the bounds
again (CHECK constraints), so no other path writes what these refuse."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from sqlalchemy.dialects.postgresql import insert as pg_insert
from strawberry.types.unset import UNSET, UnsetType
from strawberry.utils.str_converters import to_camel_case

from graph.api.builders import from_row
from graph.api.context import Info
from graph.core.errors import FORBIDDEN, ApiError, bad_input, not_found
from graph.core.identity import Identity, Role
from graph.core.ids import parse_uuid_id
from graph.core.validators import aware
from graph.sql.writes import insert_row
from models.clinical import (
    CLINICAL_LISTS,
    MAX_CLINICAL_ENTRIES,
    NUMERIC_MEASUREMENTS,
    VITAL_SIGN_RANGES,
    clinical_profiles,
    vital_signs,
)
from models.patients import patients
from resolvers.clinical.types import VitalSigns
from resolvers.objects import build

if TYPE_CHECKING:
    from resolvers.patients.types import Patient

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]

# How far ahead of the server's clock a reading may be dated (a device's clock drifts); the
# database allows the same (vital_signs_recorded_at_check).
CLOCK_SKEW = timedelta(minutes=5)


@strawberry.input(
    description="Lists given replace the recorded ones; null clears one (not recorded), an"
    " empty list records none known; lists not given stay as they are."
)
class UpdateClinicalProfileInput:
    patient_id: strawberry.ID
    allergies: list[str] | UnsetType | None = UNSET
    conditions: list[str] | UnsetType | None = UNSET
    medications: list[str] | UnsetType | None = UNSET


@strawberry.input(description="At least one measurement; each within its range.")
class RecordVitalSignsInput:
    patient_id: strawberry.ID
    recorded_at: datetime | None = strawberry.field(
        default=None, description="When they were measured (default: now); not in the future."
    )
    heart_rate: int | None = None
    systolic: int | None = None
    diastolic: int | None = None
    respiratory_rate: int | None = None
    spo2: int | None = None
    temperature: Decimal | None = None
    pain_level: int | None = None
    weight_kg: Decimal | None = None
    height_cm: Decimal | None = None


def clinical_list(entries: list[str] | None, field: str) -> list[str] | None:
    """Entries trimmed, repeats dropped (first kept); none empty, at most
    `MAX_CLINICAL_ENTRIES` (each entry's length is an input limit: 200 characters)."""
    if entries is None:
        return None
    if len(entries) > MAX_CLINICAL_ENTRIES:
        raise bad_input(field, f"{field} may have at most {MAX_CLINICAL_ENTRIES} entries")
    kept: dict[str, None] = {}
    for entry in entries:
        text = entry.strip()
        if not text:
            raise bad_input(field, f"{field} entries must not be empty")
        kept.setdefault(text, None)
    return list(kept)


async def _treated_patient(
    info: Info, patient_global_id: strawberry.ID
) -> tuple[Identity, uuid.UUID]:
    """The patient's id, once the caller is a physiotherapist who sees them."""
    identity = info.context.require_role(Role.PHYSIOTHERAPIST)
    patient_id = parse_uuid_id(patient_global_id, "Patient", field="patientId")
    if await info.context.loaders.by_id(patients).load(patient_id) is None:
        raise not_found("Patient", field="patientId")
    return identity, patient_id


def _forbidden(error: ApiError) -> ApiError:
    if error.extensions["code"] == FORBIDDEN:
        return ApiError(
            FORBIDDEN,
            "You may only write the clinical data of patients you treat",
            field="patientId",
        )
    return error


async def update_clinical_profile(info: Info, input: UpdateClinicalProfileInput) -> PatientRef:
    """The patient, with the profile as written (its lists read back, and logged, as any
    read of them)."""
    identity, patient_id = await _treated_patient(info, input.patient_id)
    values = {
        column: clinical_list(getattr(input, column), to_camel_case(column))
        for column in CLINICAL_LISTS
        if getattr(input, column) is not UNSET
    }
    if values:
        changed = {**values, "updated_by": identity.physiotherapist_id}
        statement = (
            pg_insert(clinical_profiles)
            .values(clinic_id=identity.clinic_id, patient_id=patient_id, **changed)
            .on_conflict_do_update(index_elements=["patient_id"], set_=changed)
            .returning(clinical_profiles.c.id)
        )
        try:
            await info.context.db.fetch_one(statement)
        except ApiError as error:
            raise _forbidden(error) from None
    row = await info.context.loaders.by_id(patients).load(patient_id)
    assert row is not None, "seen above, in this transaction"
    return cast("Patient", build("Patient", row))


def _measurement(column: str, value: int | Decimal | None) -> int | Decimal | None:
    """The value, if within the column's range (and, a decimal, of at most its places)."""
    if value is None:
        return None
    field = to_camel_case(column)
    low, high = VITAL_SIGN_RANGES[column]
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise bad_input(field, f"{field} must be a number")
        places = NUMERIC_MEASUREMENTS[column][1]
        if value != round(value, places):
            raise bad_input(field, f"{field} may have at most {places} decimal places")
    if not low <= value <= high:
        raise bad_input(field, f"{field} must be between {low} and {high}")
    return value


def vital_sign_values(input: RecordVitalSignsInput) -> dict[str, Any]:
    """The measurements given, checked: each in range, blood pressure as a pair with
    systolic above diastolic, at least one."""
    values = {
        column: _measurement(column, getattr(input, column))
        for column in VITAL_SIGN_RANGES
        if getattr(input, column) is not None
    }
    if not values:
        raise bad_input("patientId", "Give at least one measurement")
    systolic, diastolic = values.get("systolic"), values.get("diastolic")
    if (systolic is None) != (diastolic is None):
        missing = "diastolic" if diastolic is None else "systolic"
        raise bad_input(missing, "Blood pressure needs both systolic and diastolic")
    if systolic is not None and diastolic is not None and systolic <= diastolic:
        raise bad_input("diastolic", "diastolic must be below systolic")
    return values


async def record_vital_signs(info: Info, input: RecordVitalSignsInput) -> VitalSigns:
    values = vital_sign_values(input)
    recorded_at = input.recorded_at
    if recorded_at is not None:
        recorded_at = aware(recorded_at, "recordedAt")
        if recorded_at > datetime.now(UTC) + CLOCK_SKEW:
            raise bad_input("recordedAt", "recordedAt must not be in the future")
        values["recorded_at"] = recorded_at
    identity, patient_id = await _treated_patient(info, input.patient_id)
    try:
        row = await insert_row(
            info.context.db,
            vital_signs,
            {
                **values,
                "clinic_id": identity.clinic_id,
                "patient_id": patient_id,
                "recorded_by": identity.physiotherapist_id,
            },
        )
    except ApiError as error:
        raise _forbidden(error) from None
    return from_row(VitalSigns, row)
