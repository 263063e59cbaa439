"""Consents (LGPD arts. 7, 8, 11) keep their history: revoking sets `revokedAt` on the row (never
deletes it), a new grant is a new row, and the clinic acknowledges each revocation
(`acknowledgeConsentRevocation`) once it stopped processing for that purpose; the database
refuses anything else (trigger `consents_rules`, migration 0005)."""

import strawberry
from sqlalchemy import RowMapping, func, select, update

from graph.api.builders import from_row
from graph.api.context import Info
from graph.core.errors import INVALID_STATE, ApiError, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from graph.core.validators import required_text
from graph.sql.writes import insert_row
from models.compliance import consents
from resolvers.lgpd.data import visible_patient_row
from resolvers.lgpd.types import Consent

FRONT_DESK = (Role.ADMIN, Role.RECEPTIONIST)


@strawberry.input
class GrantConsentInput:
    patient_id: strawberry.ID
    purpose: str
    legal_basis: str
    policy_version: str


@strawberry.input
class RevokeConsentInput:
    id: strawberry.ID


@strawberry.input
class AcknowledgeConsentRevocationInput:
    id: strawberry.ID


async def grant_consent(info: Info, input: GrantConsentInput) -> Consent:
    """A new consent; granting what is already granted (same terms) returns that consent."""
    identity = info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PATIENT)
    patient = await visible_patient_row(info, input.patient_id)
    if patient["anonymized_at"] is not None:
        raise ApiError(INVALID_STATE, "An anonymized patient cannot grant consent")
    purpose = required_text(input.purpose, "purpose")
    legal_basis = required_text(input.legal_basis, "legalBasis")
    policy_version = required_text(input.policy_version, "policyVersion")
    c = consents.c
    existing = await info.context.db.fetch_one(
        select(consents)
        .where(
            c.patient_id == patient["id"],
            c.granted.is_(True),
            c.purpose == purpose,
            c.legal_basis == legal_basis,
            c.policy_version == policy_version,
        )
        .order_by(c.created_at.desc())
        .limit(1)
    )
    if existing is not None:
        return from_row(Consent, existing)
    row = await insert_row(
        info.context.db,
        consents,
        {
            "clinic_id": identity.clinic_id,
            "patient_id": patient["id"],
            "purpose": purpose,
            "legal_basis": legal_basis,
            "policy_version": policy_version,
        },
    )
    return from_row(Consent, row)


async def _visible_consent(info: Info, global_id: str) -> RowMapping:
    row = await info.context.loaders.by_id(consents).load(parse_uuid_id(global_id, "Consent"))
    if row is None:
        raise not_found("Consent", field="id")
    return row


async def revoke_consent(info: Info, input: RevokeConsentInput) -> Consent:
    """As easy as granting; revoking a revoked consent changes nothing."""
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PATIENT)
    current = await _visible_consent(info, input.id)
    if not current["granted"]:
        return from_row(Consent, current)
    c = consents.c
    row = await info.context.db.fetch_one(
        update(consents)
        .where(c.id == current["id"], c.granted.is_(True))
        .values(granted=False, revoked_at=func.now(), updated_at=func.now())
        .returning(*consents.c)
    )
    if row is None:  # revoked concurrently
        row = await info.context.db.fetch_one(select(consents).where(c.id == current["id"]))
        assert row is not None
    return from_row(Consent, row)


async def acknowledge_consent_revocation(
    info: Info, input: AcknowledgeConsentRevocationInput
) -> Consent:
    """The clinic confirms it stopped processing for a revoked consent's purpose."""
    info.context.require_role(*FRONT_DESK)
    current = await _visible_consent(info, input.id)
    if current["revoked_at"] is None:
        raise ApiError(INVALID_STATE, "Only a revoked consent's revocation can be acknowledged")
    if current["revocation_acknowledged_at"] is not None:
        return from_row(Consent, current)
    c = consents.c
    row = await info.context.db.fetch_one(
        update(consents)
        .where(c.id == current["id"], c.revocation_acknowledged_at.is_(None))
        .values(revocation_acknowledged_at=func.now(), updated_at=func.now())
        .returning(*consents.c)
    )
    if row is None:
        row = await info.context.db.fetch_one(select(consents).where(c.id == current["id"]))
        assert row is not None
    return from_row(Consent, row)
