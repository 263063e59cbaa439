"""The caller as every layer sees it: a login's clinic, role and links."""

import enum
import uuid
from dataclasses import dataclass
from typing import Any


class Role(enum.Enum):
    ADMIN = "admin"
    PHYSIOTHERAPIST = "physiotherapist"
    RECEPTIONIST = "receptionist"
    PATIENT = "patient"


@dataclass(frozen=True)
class Identity:
    """The caller: a login and what its `users` row says (clinic, role, physiotherapist,
    patient). Every request's RLS settings come from here, and the request's first round trip
    (graph/sql/session.IDENTITY_SQL, `gql_execute`) refuses it unless the row, read then, still
    says exactly this. `external_subject`: the provider token's `sub` it was found by.
    `token_version`: the login's token version when the token was issued (claim `tv`; the
    round trip refuses it once the row's has moved on); None, not checked, for a provider
    token and for the server's own work. `password_change_required` (claim `pcr`): a token
    issued after an admin's reset, good only for `changePassword` and `me`."""

    user_id: uuid.UUID
    clinic_id: uuid.UUID
    role: Role
    physiotherapist_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    external_subject: str | None = None
    token_version: int | None = None
    password_change_required: bool = False

    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "sub": str(self.user_id),
            "clinic_id": str(self.clinic_id),
            "role": self.role.value,
        }
        if self.physiotherapist_id:
            claims["physiotherapist_id"] = str(self.physiotherapist_id)
        if self.patient_id:
            claims["patient_id"] = str(self.patient_id)
        if self.token_version is not None:
            claims["tv"] = self.token_version
        if self.password_change_required:
            claims["pcr"] = True
        return claims
