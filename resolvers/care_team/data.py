"""Care teams at row level: who is on a patient's team (read by `Patient.careTeam`)."""

import uuid

from graph.api.context import Info
from graph.sql.child_list import ChildList
from graph.sql.pagination import SortKey
from models.care_team import care_team_members

TEAM_OF_PATIENT = ChildList(
    care_team_members,
    "patient_id",
    SortKey((care_team_members.c.created_at, care_team_members.c.id)),
)


async def care_team_ids(info: Info, patient_id: uuid.UUID) -> list[uuid.UUID]:
    """The patient's care team (physiotherapist ids, in the order they joined), batched."""
    rows = await info.context.loaders.all_children(TEAM_OF_PATIENT).load(patient_id)
    return [row["physiotherapist_id"] for row in rows]
