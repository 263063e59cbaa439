"""`anonymizePatient`: the SECURITY DEFINER function `anonymize_patient()` (0005; 0019 adds
the front-desk data and the clinical profile) replaces the personal data, deletes the clinical
profile (allergies, conditions, medications), disables the patient's login and redacts the
same data in the audit log; prontuários, vital signs and financial records stay for their
legal retention."""

from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from sqlalchemy import func, literal, select, update

from graph.api.context import Info
from graph.core.calendar import clinic_date
from graph.core.errors import INVALID_STATE, ApiError
from graph.core.identity import Role
from models.compliance import data_subject_requests
from models.patients import patients
from resolvers.lgpd.data import dsr, visible_patient_row
from resolvers.lgpd.types import DataSubjectRequestKind
from resolvers.objects import build

if TYPE_CHECKING:
    from resolvers.patients.types import Patient

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]


@strawberry.input
class AnonymizePatientInput:
    patient_id: strawberry.ID


ERASURE_KINDS = (DataSubjectRequestKind.ANONYMIZATION.value, DataSubjectRequestKind.DELETION.value)


async def anonymize_patient(info: Info, input: AnonymizePatientInput) -> PatientRef:
    """Irreversible. Personal data go; clinical and financial records stay (legal retention)."""
    info.context.require_role(Role.ADMIN)
    patient = await visible_patient_row(info, input.patient_id)
    if patient["anonymized_at"] is not None:
        raise ApiError(INVALID_STATE, "This patient is already anonymized")
    db = info.context.db
    done = await db.fetch_one(select(func.anonymize_patient(patient["id"]).label("at")))
    if done is None or done["at"] is None:
        raise ApiError(INVALID_STATE, "This patient is already anonymized")
    when = clinic_date(done["at"]).strftime("%d/%m/%Y")
    await db.fetch(
        update(data_subject_requests)
        .where(
            dsr.patient_id == patient["id"],
            dsr.fulfilled_at.is_(None),
            dsr.kind.in_(ERASURE_KINDS),
        )
        .values(
            fulfilled_at=func.now(),
            updated_at=func.now(),
            response=literal(
                f"Dados pessoais anonimizados em {when} (nome, CPF, CNS, e-mail, telefone,"
                " endereço, data de nascimento, convênio, contato de emergência, canal de"
                " contato, alergias, condições e medicamentos). Prontuários, sinais vitais e"
                " registros financeiros são mantidos pelo prazo legal (LGPD art. 16, I;"
                " Lei 13.787/2018)."
            ),
        )
    )
    row = await db.fetch_one(select(patients).where(patients.c.id == patient["id"]))
    assert row is not None
    info.context.loaders.by_id(patients).clear(patient["id"]).prime(patient["id"], row)
    return cast("Patient", build("Patient", row))
