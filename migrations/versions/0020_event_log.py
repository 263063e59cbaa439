"""The durable event log: every change the realtime layer and webhooks see, in commit order.

Revision ID: 0020_event_log
Revises: 0019_profile
Create Date: 2026-11-28

- `events`: one row per change of a notified table (`seq`, `clinic_id`, `table_name`, `op`,
  `row_id`, `refs`, `recorded_at`), ids only, never personal data: `refs` holds the
  `patient_id` / `physiotherapist_id` the row has (patients: `patient_id` = its id;
  prontuario_addenda: `prontuario_id` and its prontuário's `patient_id`) and, on UPDATE,
  `old_patient_id` / `old_physiotherapist_id` when they changed.
- `record_event()` replaces 0003's `notify_event()` as the trigger of every notified table.
  It is a *deferred* constraint trigger: it runs at commit, takes one transaction-level
  advisory lock (`EVENT_ORDER_LOCK`) and then draws `seq`. The lock is held until the
  commit is visible, so `seq` order is commit order: whoever has seen event n has seen every
  event below n that will ever exist. A position is then one number (`seq > n` misses
  nothing and repeats nothing). PostgreSQL already serialises the commits of notifying
  transactions the same way (async.c, PreCommit_Notify), so the lock costs little more.
  It then `pg_notify('fisioflow_events', ...)` the same ids with `seq`: NOTIFY only wakes
  listeners up; the log is what they catch up from.
- Retention: `purge_events(keep interval)` deletes the oldest events, a contiguous prefix up
  to the last one recorded before `now() - keep`, and raises `event_log_state.purged_through`
  to it: a position below that is expired (the events after it are gone).
- RLS: a request reads its clinic's events, a patient only those of their own data, and
  inserts them only for its own clinic (the trigger runs at commit as the request's role,
  or as the owner of the SECURITY DEFINER function that made the change);
  nobody updates them. The whole log is read and purged only through `events_after` and
  `purge_events`, SECURITY DEFINER under `fisioflow.definer = 'events'`, which only the
  server's own login (a member of fisioflow_owner, without `SET ROLE`) may execute: the
  broker catching up, the retention purge, the webhook worker.
- `event_log_state` (one row) is readable by every request: `purged_through`.
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0020_event_log"
down_revision: str | None = "0019_profile"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose changes are events (0003's NOTIFY_TABLES, data_subject_requests from 0005, and
# vital_signs), and users, whose deactivation or token version is an event (0016).
EVENT_TABLES = (
    "appointments",
    "payments",
    "exercise_executions",
    "prontuarios",
    "prontuario_addenda",
    "patients",
    "compliance_checks",
    "compliance_issues",
    "consents",
    "data_subject_requests",
    "vital_signs",
)
USERS_EVENT = """
CREATE CONSTRAINT TRIGGER users_event AFTER UPDATE OF active, token_version, password_hash
    ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.active IS DISTINCT FROM NEW.active
          OR OLD.token_version IS DISTINCT FROM NEW.token_version)
    EXECUTE FUNCTION record_event();
"""
# 0003's AFTER triggers give way to deferred ones (vital_signs had none).
EVENT_TRIGGERS = "\n".join(
    f"DROP TRIGGER {table}_notify ON {table};\n"
    f"CREATE CONSTRAINT TRIGGER {table}_event AFTER INSERT OR UPDATE OR DELETE ON {table}"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_event();"
    for table in EVENT_TABLES
    if table != "vital_signs"
)
NOTIFY_TRIGGERS = "\n".join(
    f"DROP TRIGGER {table}_event ON {table};"
    + (
        ""
        if table == "vital_signs"
        else f"\nCREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION notify_event();"
    )
    for table in EVENT_TABLES
)
# The one advisory lock key that orders the log.
EVENT_ORDER_LOCK = "hashtextextended('fisioflow.event_order', 0)"

UPGRADE = f"""
SET LOCAL ROLE fisioflow_owner;

CREATE TABLE events (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    clinic_id uuid NOT NULL,
    table_name text NOT NULL,
    op text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
    row_id uuid NOT NULL,
    refs jsonb NOT NULL DEFAULT '{{}}',
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX events_clinic_seq ON events (clinic_id, seq);
CREATE INDEX events_recorded_at ON events USING brin (recorded_at);
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT ON events TO fisioflow_app;
GRANT USAGE ON SEQUENCE events_seq_seq TO fisioflow_app;
CREATE POLICY events_select ON events FOR SELECT TO fisioflow_app
    USING (clinic_id = (select app_clinic_id())
           AND ((select app_role()) <> 'patient'
                OR (refs ->> 'patient_id')::uuid = (select app_patient_id())));
-- The owner too: a change made inside a SECURITY DEFINER function (a password change, an
-- erasure) fires its deferred trigger as the function's owner.
CREATE POLICY events_insert ON events FOR INSERT TO fisioflow_app, fisioflow_owner
    WITH CHECK (clinic_id = (select app_clinic_id()));
CREATE POLICY events_server ON events TO fisioflow_owner
    USING (current_setting('fisioflow.definer', true) = 'events');

CREATE TABLE event_log_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    purged_through bigint NOT NULL DEFAULT 0
);
INSERT INTO event_log_state DEFAULT VALUES;
ALTER TABLE event_log_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_log_state FORCE ROW LEVEL SECURITY;
GRANT SELECT ON event_log_state TO fisioflow_app;
CREATE POLICY event_log_state_read ON event_log_state FOR SELECT TO fisioflow_app USING (true);
CREATE POLICY event_log_state_server ON event_log_state TO fisioflow_owner
    USING (current_setting('fisioflow.definer', true) = 'events');

CREATE FUNCTION record_event() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
AS $$
DECLARE
    cur jsonb;
    prev jsonb;
    refs jsonb := '{{}}';
    event_seq bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        cur := to_jsonb(OLD);
    ELSE
        cur := to_jsonb(NEW);
    END IF;
    IF TG_TABLE_NAME = 'patients' THEN
        refs := jsonb_build_object('patient_id', cur -> 'id');
    ELSIF TG_TABLE_NAME = 'prontuario_addenda' THEN
        refs := jsonb_build_object(
            'prontuario_id', cur -> 'prontuario_id',
            'patient_id', (SELECT p.patient_id FROM public.prontuarios p
                           WHERE p.id = (cur ->> 'prontuario_id')::uuid));
    ELSIF cur ? 'patient_id' THEN
        refs := jsonb_build_object('patient_id', cur -> 'patient_id');
    END IF;
    IF cur ? 'physiotherapist_id' THEN
        refs := refs || jsonb_build_object('physiotherapist_id', cur -> 'physiotherapist_id');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        prev := to_jsonb(OLD);
        IF TG_TABLE_NAME <> 'patients' AND prev -> 'patient_id' IS DISTINCT FROM cur -> 'patient_id'
        THEN
            refs := refs || jsonb_build_object('old_patient_id', prev -> 'patient_id');
        END IF;
        IF prev -> 'physiotherapist_id' IS DISTINCT FROM cur -> 'physiotherapist_id' THEN
            refs := refs
                || jsonb_build_object('old_physiotherapist_id', prev -> 'physiotherapist_id');
        END IF;
    END IF;
    PERFORM pg_advisory_xact_lock({EVENT_ORDER_LOCK});
    -- Not RETURNING: that would need the row to be readable too (a patient's policy).
    INSERT INTO public.events (clinic_id, table_name, op, row_id, refs)
    VALUES ((cur ->> 'clinic_id')::uuid, TG_TABLE_NAME, TG_OP, (cur ->> 'id')::uuid, refs);
    event_seq := currval('public.events_seq_seq');
    PERFORM pg_notify('fisioflow_events', (refs || jsonb_build_object(
        'seq', event_seq, 'table', TG_TABLE_NAME, 'op', TG_OP,
        'id', cur -> 'id', 'clinic_id', cur -> 'clinic_id'))::text);
    RETURN NULL;
END
$$;

-- The server's own reads of the whole log (the broker catching up after a reconnect, the
-- webhook worker): events after `after_seq`, oldest first, at most `max_rows`.
CREATE FUNCTION events_after(after_seq bigint, max_rows integer) RETURNS SETOF events
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
BEGIN
    PERFORM set_config('fisioflow.definer', 'events', true);
    RETURN QUERY SELECT * FROM public.events e WHERE e.seq > after_seq ORDER BY e.seq
        LIMIT max_rows;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
END
$$;

CREATE FUNCTION purge_events(keep interval) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
    through bigint;
BEGIN
    PERFORM set_config('fisioflow.definer', 'events', true);
    SELECT max(seq) INTO through FROM public.events WHERE recorded_at < clock_timestamp() - keep;
    IF through IS NOT NULL THEN
        DELETE FROM public.events WHERE seq <= through;
        UPDATE public.event_log_state SET purged_through = greatest(purged_through, through);
    END IF;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
    RETURN coalesce(through, 0);
END
$$;
-- The server's login (a member of fisioflow_owner) calls these without `SET ROLE`; a request,
-- as fisioflow_app, cannot.
REVOKE ALL ON FUNCTION events_after(bigint, integer), purge_events(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION events_after(bigint, integer), purge_events(interval)
    TO fisioflow_owner;

{EVENT_TRIGGERS}
CREATE CONSTRAINT TRIGGER vital_signs_event AFTER INSERT OR UPDATE OR DELETE ON vital_signs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_event();
DROP TRIGGER users_notify ON users;
{USERS_EVENT}
RESET ROLE;
"""

DOWNGRADE = f"""
SET LOCAL ROLE fisioflow_owner;
{NOTIFY_TRIGGERS}
DROP TRIGGER users_event ON users;
CREATE TRIGGER users_notify AFTER UPDATE OF active, token_version, password_hash ON users
    FOR EACH ROW
    WHEN (OLD.active IS DISTINCT FROM NEW.active
          OR OLD.token_version IS DISTINCT FROM NEW.token_version)
    EXECUTE FUNCTION notify_event();
DROP FUNCTION purge_events(interval);
DROP FUNCTION events_after(bigint, integer);
DROP FUNCTION record_event();
DROP TABLE event_log_state;
DROP TABLE events;
RESET ROLE;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
