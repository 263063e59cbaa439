"""Audited reads for a fan-out group: one statement records a read for each receiving subscriber.

Revision ID: 0022_group_reads
Revises: 0021_reminders
Create Date: 2026-11-28

- `audit_record_reads_for(table, ids[], readers uuid[])`: like 0005's `audit_record_reads`,
  one INSERT for a batch of read records (operation 'SELECT'), but one row per record *and
  reader*, each under the reader's own user id and role. A fan-out group (subscribers of one
  cohort running the same operation, graph/realtime/groups.py) resolves an event once under
  one member's identity and records the read for every member it is sent to.
  Only readers who see exactly what the caller sees are recorded: active logins of the
  caller's clinic with the caller's role (and, for a physiotherapist or a patient, the same
  person). Anyone else in `readers` is ignored, so a caller can neither write audit rows into
  another clinic nor attribute a read to a login whose access differs from its own.
  The function reads `users` under `fisioflow.definer = 'auth'` (0002's owner policy) and
  inserts under `'audit'` (0003's).
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0022_group_reads"
down_revision: str | None = "0021_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
SET LOCAL ROLE fisioflow_owner;
CREATE FUNCTION audit_record_reads_for(table_name text, record_ids uuid[], readers uuid[])
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
    clinic uuid := public.app_clinic_id();
    caller_role text := public.app_role();
    recorded uuid[];
BEGIN
    IF clinic IS NULL OR caller_role IS NULL
       OR coalesce(cardinality(record_ids), 0) = 0 OR coalesce(cardinality(readers), 0) = 0 THEN
        RETURN;
    END IF;
    PERFORM set_config('fisioflow.definer', 'auth', true);
    SELECT array_agg(u.id) INTO recorded
      FROM public.users u
     WHERE u.id = ANY (readers)
       AND u.clinic_id = clinic
       AND u.active
       AND u.role = caller_role
       AND u.physiotherapist_id IS NOT DISTINCT FROM
           (CASE WHEN caller_role = 'physiotherapist' THEN public.app_physiotherapist_id() END)
       AND u.patient_id IS NOT DISTINCT FROM
           (CASE WHEN caller_role = 'patient' THEN public.app_patient_id() END);
    PERFORM set_config('fisioflow.definer', 'audit', true);
    INSERT INTO public.audit_log (clinic_id, table_name, operation, record_id, actor_id,
                                  actor_role)
    SELECT clinic, audit_record_reads_for.table_name, 'SELECT', ids.id, reader, caller_role
      FROM (SELECT DISTINCT unnest(record_ids) AS id) ids
     CROSS JOIN unnest(coalesce(recorded, '{}')) AS reader
     WHERE ids.id IS NOT NULL;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
END
$$;
REVOKE ALL ON FUNCTION audit_record_reads_for(text, uuid[], uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_record_reads_for(text, uuid[], uuid[]) TO fisioflow_app;
RESET ROLE;
"""

DOWNGRADE = """
SET LOCAL ROLE fisioflow_owner;
DROP FUNCTION audit_record_reads_for(text, uuid[], uuid[]);
RESET ROLE;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
