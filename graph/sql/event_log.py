"""Reading the event log (migration 0020): the server's own reads and a subscriber's replay.

The server's statements (`LOG_END`, `CATCH_UP`, `PURGE`, `COMPLIANCE_CLOCK_TICK`) run as its
own login without an identity, on the broker's LISTEN connection (asyncpg, `$n` parameters) or
a plain engine connection; `events_after`, `purge_events` and `compliance_clock_tick` are
executable by that login only. `REPLAY_PAGE` runs in a subscriber's RLS transaction: it sees
the clinic's events (a patient's own only).
"""

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import BigInteger, Integer, Text

# The last seq ever committed, read under the lock that orders the log (0020's
# `EVENT_ORDER_LOCK`): no transaction holds a drawn seq without having committed it meanwhile.
# One transaction of two statements (the lock is released at its end).
LOG_END_LOCK = "select pg_advisory_xact_lock(hashtextextended('fisioflow.event_order', 0))"
LOG_END = "select coalesce(pg_sequence_last_value('public.events_seq_seq'), 0)"

# The whole log after $1, oldest first, at most $2 rows: the broker catching up.
CATCH_UP = "select seq, clinic_id, table_name, op, row_id from events_after($1, $2)"

# Delete what is older than :days days; several processes purging at once only wait.
PURGE = text("select purge_events(make_interval(days => :days))").bindparams(
    bindparam("days", type_=Integer())
)

# The compliance clock (migration 0026): an event for each clinic whose deadline passed since
# the last tick; how many.
COMPLIANCE_CLOCK_TICK = text("select compliance_clock_tick()")

# A subscriber's events of :tables after :after up to :through (at most :limit), and, in
# the same snapshot, the log's horizon: a position below `purged_through` lost events.
REPLAY_PAGE = text(
    "select state.purged_through, page.seq, page.clinic_id, page.table_name, page.op,"
    " page.row_id"
    " from event_log_state state left join lateral ("
    "  select * from events"
    "  where seq > :after and seq <= :through and table_name = any(:tables)"
    "  order by seq limit :limit"
    " ) page on true"
    " order by page.seq"
).bindparams(
    bindparam("after", type_=BigInteger()),
    bindparam("through", type_=BigInteger()),
    bindparam("tables", type_=ARRAY(Text())),
    bindparam("limit", type_=Integer()),
)
