"""models/indexes.py lists exactly the migrated database's plain indexes (btree, not partial,
on columns only) of the declared types' tables."""

import asyncpg

from models.declarations import DECLARATIONS
from models.indexes import INDEXES, indexed_columns

PLAIN_INDEXES = """
select t.relname as table_name,
       array_agg(a.attname order by k.ordinality) as columns
from pg_index i
join pg_class t on t.oid = i.indrelid
join pg_class x on x.oid = i.indexrelid
join pg_am m on m.oid = x.relam
join pg_namespace n on n.oid = t.relnamespace
cross join lateral unnest(i.indkey) with ordinality as k(attnum, ordinality)
join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
where n.nspname = 'public' and m.amname = 'btree' and i.indpred is null
  and i.indexprs is null and t.relname = any($1::text[])
group by t.relname, i.indexrelid
"""


async def test_the_declared_indexes_are_the_databases(superuser: asyncpg.Connection) -> None:
    tables = sorted({d.table.name for d in DECLARATIONS.values()})
    found: dict[str, set[tuple[str, ...]]] = {}
    for row in await superuser.fetch(PLAIN_INDEXES, tables):
        found.setdefault(row["table_name"], set()).add(tuple(row["columns"]))
    declared = {table: set(indexes) for table, indexes in INDEXES.items()}
    assert declared == found, "models/indexes.py and the migrations disagree"


def test_a_column_after_clinic_id_is_indexed() -> None:
    assert {"id", "clinic_id", "starts_at", "patient_id"} <= indexed_columns("appointments")
    assert "status" not in indexed_columns("appointments")
