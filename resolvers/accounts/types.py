"""The clinic and the caller (`Viewer`), and what `login` answers."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

import resolvers.enums  # noqa: F401  (registers Role as a GraphQL enum)
from graph.api.builders import from_row
from graph.api.context import Info
from graph.api.declared_fields import declared_fields
from graph.api.object_types import register
from graph.api.relay import Node
from graph.core.errors import UNAUTHENTICATED, ApiError, not_found
from graph.core.identity import Identity, Role
from graph.core.ids import to_global_id
from models.accounts import users
from resolvers.accounts.data import clinic_row
from resolvers.objects import build
from resolvers.patients.data import patient_row
from resolvers.staff.data import physiotherapist_row

if TYPE_CHECKING:
    from resolvers.patients.types import Patient
    from resolvers.staff.types import Physiotherapist

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]
PhysiotherapistRef = Annotated["Physiotherapist", strawberry.lazy("resolvers.staff.types")]


@register
@strawberry.type
@declared_fields
class Clinic(Node):
    """Every field is its declaration's (models/accounts.py)."""


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
        row = await clinic_row(info, self.identity.clinic_id)
        if row is None:
            raise not_found("Clinic")
        return from_row(Clinic, row)

    @strawberry.field
    async def physiotherapist(self, info: Info) -> PhysiotherapistRef | None:
        physio = self.identity.physiotherapist_id
        row = await physiotherapist_row(info, physio) if physio else None
        return cast("Physiotherapist", build("Physiotherapist", row)) if row else None

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef | None:
        patient = self.identity.patient_id
        row = await patient_row(info, patient) if patient else None
        return cast("Patient", build("Patient", row)) if row else None


@strawberry.type
class AuthPayload:
    token: str
    expires_at: datetime
    must_change_password: bool = strawberry.field(
        description="The password was reset by an admin: this token may only `changePassword`"
        " (and read `me`); anything else answers PASSWORD_CHANGE_REQUIRED."
    )
    viewer: Viewer
