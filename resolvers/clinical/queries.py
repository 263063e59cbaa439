"""`vitalSigns`: the vital signs the caller may read (RLS: admin, the physiotherapists who
treat the patient, the patient), oldest first; every reading shown is a logged read."""

import strawberry

from graph.api.builders import row_builder
from graph.api.context import Info
from graph.api.lists import declared_list
from graph.api.relay import Connection, list_connection
from graph.sql.list_query import ListQuery
from models.clinical import vital_signs
from resolvers.clinical.data import record_vital_signs_reads
from resolvers.clinical.types import VitalSigns


@declared_list("VitalSigns")
async def list_vital_signs(info: Info, query: ListQuery) -> Connection[VitalSigns]:
    info.context.require_identity()
    connection = await list_connection(info.context.db, vital_signs, query, row_builder(VitalSigns))
    await record_vital_signs_reads(info, [edge.node.db_id for edge in connection.edges])
    return connection


@strawberry.type
class ClinicalQueries:
    vital_signs: Connection[VitalSigns] = strawberry.field(resolver=list_vital_signs)
