"""The compliance clock: deadlines that pass become events, so `complianceStatusChanged` follows
them as it follows writes.

Revision ID: 0026_compliance_clock
Revises: 0025_unprepared_execute
Create Date: 2026-11-28

The compliance score (0005's `compliance_metrics()`, the recorded checks) changes with time too:
a data-subject request becomes due soon 3 days before its deadline and overdue at it; a
completed appointment without its prontuário counts once 24 hours have passed; a recorded check
is outdated at its `next_check`. No write marks those moments.

- `compliance_clock` (one row): how far the clock has ticked.
- `compliance_clock_tick()`: for every clinic with such a moment in (last tick, now], one row of
  the event log (`table_name` 'compliance_clock', `row_id` the clinic, no refs: a patient never
  sees it) and its `pg_notify`, under the log's ordering lock as `record_event()` takes it; then
  the clock moves to now. The state row is locked first, so server processes ticking at once
  wait for each other and each moment is told once. SECURITY DEFINER for the server's login only
  (like 0020's `purge_events`): it reads the clinics' rows under `fisioflow.definer =
  'compliance'` (0005's owner policies, and one added here for `compliance_checks`) and writes
  the log under `'events'`. Returns how many clinics it told.
- Partial indexes for the moments it looks for: completed appointments by their completion,
  open requests by their deadline.
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0026_compliance_clock"
down_revision: str | None = "0025_unprepared_execute"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0020's: the lock that makes an event's seq its commit order.
EVENT_ORDER_LOCK = "hashtextextended('fisioflow.event_order', 0)"

UPGRADE = f"""
SET LOCAL ROLE fisioflow_owner;
CREATE TABLE compliance_clock (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    ticked_through timestamptz NOT NULL DEFAULT now()
);
INSERT INTO compliance_clock DEFAULT VALUES;
ALTER TABLE compliance_clock ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_clock FORCE ROW LEVEL SECURITY;
CREATE POLICY compliance_clock_server ON compliance_clock TO fisioflow_owner
    USING (current_setting('fisioflow.definer', true) = 'compliance');
CREATE POLICY compliance_checks_owner_compliance_select ON compliance_checks FOR SELECT
    TO fisioflow_owner USING (current_setting('fisioflow.definer', true) = 'compliance');

CREATE INDEX appointments_completion_idx ON appointments ((coalesce(completed_at, ends_at)))
    WHERE status = 'completed';
CREATE INDEX data_subject_requests_open_due_idx ON data_subject_requests (due_at)
    WHERE fulfilled_at IS NULL;

CREATE FUNCTION compliance_clock_tick() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
    since timestamptz;
    upto timestamptz := clock_timestamp();
    clinics uuid[];
    clinic uuid;
    event_seq bigint;
BEGIN
    PERFORM set_config('fisioflow.definer', 'compliance', true);
    SELECT ticked_through INTO since FROM public.compliance_clock FOR UPDATE;
    SELECT coalesce(array_agg(DISTINCT c), '{{}}') INTO clinics FROM (
        SELECT d.clinic_id FROM public.data_subject_requests d
         WHERE d.fulfilled_at IS NULL
           AND ((d.due_at > since AND d.due_at <= upto)
                OR (d.due_at > since + interval '3 days' AND d.due_at <= upto + interval '3 days'))
        UNION ALL
        SELECT a.clinic_id FROM public.appointments a
         WHERE a.status = 'completed'
           AND coalesce(a.completed_at, a.ends_at) > since - interval '24 hours'
           AND coalesce(a.completed_at, a.ends_at) <= upto - interval '24 hours'
        UNION ALL
        SELECT k.clinic_id FROM public.compliance_checks k
         WHERE k.next_check > since AND k.next_check <= upto
    ) due(c);
    UPDATE public.compliance_clock SET ticked_through = upto;
    PERFORM set_config('fisioflow.definer', 'events', true);
    IF cardinality(clinics) > 0 THEN
        PERFORM pg_advisory_xact_lock({EVENT_ORDER_LOCK});
    END IF;
    FOREACH clinic IN ARRAY clinics LOOP
        INSERT INTO public.events (clinic_id, table_name, op, row_id, refs)
        VALUES (clinic, 'compliance_clock', 'UPDATE', clinic, '{{}}');
        event_seq := currval('public.events_seq_seq');
        PERFORM pg_notify('fisioflow_events', jsonb_build_object(
            'seq', event_seq, 'table', 'compliance_clock', 'op', 'UPDATE',
            'id', clinic, 'clinic_id', clinic)::text);
    END LOOP;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
    RETURN cardinality(clinics);
END
$$;
REVOKE ALL ON FUNCTION compliance_clock_tick() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION compliance_clock_tick() TO fisioflow_owner;
RESET ROLE;
"""

DOWNGRADE = """
SET LOCAL ROLE fisioflow_owner;
DROP FUNCTION compliance_clock_tick();
DROP INDEX data_subject_requests_open_due_idx;
DROP INDEX appointments_completion_idx;
DROP POLICY compliance_checks_owner_compliance_select ON compliance_checks;
DROP TABLE compliance_clock;
RESET ROLE;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
