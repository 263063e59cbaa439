"""Triggers: updated_at, the append-only audit log, immutable records, realtime notifications.

Revision ID: 0003_triggers
Revises: 0002_row_level_security
Create Date: 2026-11-21

- `set_updated_at()`: BEFORE UPDATE on every table with `updated_at`.
- `audit_row_change()`: AFTER INSERT/UPDATE/DELETE of patient, clinical, payment and LGPD data
  (and users, without password_hash) writes one `audit_log` row with the actor from the
  request settings. SECURITY DEFINER owned by fisioflow_owner, allowed to insert by the owner
  policy `audit_log_owner_insert` (gated on `fisioflow.definer = 'audit'`, which the function
  sets for the duration of its insert, see 0002); fisioflow_app has no INSERT privilege on
  audit_log. INSERT/DELETE keep the whole row; UPDATE keeps only the changed columns (old
  values in old_data, new values in new_data).
- `refuse_change()`: prontuarios, prontuario_addenda and audit_log are append-only. A BEFORE
  UPDATE OR DELETE OR TRUNCATE statement trigger, ENABLE ALWAYS (fires even under
  session_replication_role = replica), refuses the statement for every role, owner and
  superusers included, with SQLSTATE 42501 (insufficient_privilege) and the message
  "<table> is append-only: <OP> is not allowed". (fisioflow_app has no UPDATE/DELETE privilege
  there either, which also fails with 42501, before the trigger.) One documented exception:
  `anonymize_patient()` (0005_lgpd) redacts an anonymized patient's personal values in
  audit rows (LGPD erasure); nothing else about an audit row can ever change.
- `notify_event()`: AFTER INSERT/UPDATE/DELETE, `pg_notify('fisioflow_events', json)` with ids
  only: table, op, id, clinic_id, and patient_id / physiotherapist_id when the row has them
  (patients: patient_id = id; prontuario_addenda: prontuario_id and its prontuario's
  patient_id). On UPDATE, old_patient_id / old_physiotherapist_id are added when they changed,
  so a subscriber who lost the row can be told.
- `audit_record_access(table, id)`: lets the app log a read (operation 'SELECT') under the
  caller's identity, since it cannot insert into audit_log itself.
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0003_triggers"
down_revision: str | None = "0002_row_level_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPDATED_AT_TABLES = (
    "clinics",
    "users",
    "physiotherapists",
    "patients",
    "appointments",
    "exercises",
    "exercise_prescriptions",
    "payments",
    "consents",
    "data_subject_requests",
)
AUDITED_TABLES = (
    "patients",
    "appointments",
    "prontuarios",
    "prontuario_addenda",
    "exercise_prescriptions",
    "exercise_executions",
    "payments",
    "consents",
    "data_subject_requests",
)
APPEND_ONLY_TABLES = ("prontuarios", "prontuario_addenda", "audit_log")
NOTIFY_TABLES = (
    "appointments",
    "payments",
    "exercise_executions",
    "prontuarios",
    "prontuario_addenda",
    "patients",
    "compliance_checks",
    "compliance_issues",
    "consents",
)

FUNCTIONS = """
CREATE FUNCTION set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- TG_ARGV: columns never copied into the log (users.password_hash).
CREATE FUNCTION audit_row_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
    old_row jsonb;
    new_row jsonb;
    row_data jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD);
        IF TG_NARGS > 0 THEN
            old_row := old_row - TG_ARGV;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW);
        IF TG_NARGS > 0 THEN
            new_row := new_row - TG_ARGV;
        END IF;
    END IF;
    row_data := coalesce(new_row, old_row);
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(jsonb_object_agg(o.key, o.value), '{}'),
               coalesce(jsonb_object_agg(n.key, n.value), '{}')
          INTO old_row, new_row
          FROM jsonb_each(old_row) o
          JOIN jsonb_each(new_row) n ON n.key = o.key
         WHERE n.value IS DISTINCT FROM o.value;
    END IF;
    PERFORM set_config('fisioflow.definer', 'audit', true);
    INSERT INTO public.audit_log
        (clinic_id, table_name, operation, record_id, actor_id, actor_role, old_data, new_data)
    VALUES ((row_data ->> 'clinic_id')::uuid, TG_TABLE_NAME, TG_OP, (row_data ->> 'id')::uuid,
            public.app_user_id(), public.app_role(), old_row, new_row);
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
    RETURN NULL;
END
$$;

-- A read worth logging (LGPD access trail), under the caller's identity and clinic.
CREATE FUNCTION audit_record_access(table_name text, record_id uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
BEGIN
    IF public.app_clinic_id() IS NULL THEN
        RETURN;
    END IF;
    PERFORM set_config('fisioflow.definer', 'audit', true);
    INSERT INTO public.audit_log (clinic_id, table_name, operation, record_id, actor_id,
                                  actor_role)
    VALUES (public.app_clinic_id(), audit_record_access.table_name, 'SELECT',
            audit_record_access.record_id, public.app_user_id(), public.app_role());
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
END
$$;
REVOKE ALL ON FUNCTION audit_record_access(text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_record_access(text, uuid) TO fisioflow_app;

CREATE POLICY audit_log_owner_insert ON audit_log FOR INSERT TO fisioflow_owner
    WITH CHECK (current_setting('fisioflow.definer', true) = 'audit');

CREATE FUNCTION refuse_change() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    -- The one exception (LGPD erasure, see 0005_lgpd): anonymize_patient(), running as the
    -- owner, may UPDATE audit rows to redact that patient's personal data; the row trigger
    -- audit_log_redaction_only limits the change to replacing personal values.
    IF TG_TABLE_NAME = 'audit_log' AND TG_OP = 'UPDATE'
       AND current_user = 'fisioflow_owner'
       AND current_setting('fisioflow.definer', true) = 'anonymize' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = CASE WHEN TG_TABLE_NAME = 'audit_log' THEN 'Audit rows are permanent.'
                          ELSE 'Record a correction as an addendum.' END;
END
$$;

CREATE FUNCTION notify_event() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    cur jsonb;
    prev jsonb;
    payload jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        cur := to_jsonb(OLD);
    ELSE
        cur := to_jsonb(NEW);
    END IF;
    payload := jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP,
                                  'id', cur -> 'id', 'clinic_id', cur -> 'clinic_id');
    IF TG_TABLE_NAME = 'patients' THEN
        payload := payload || jsonb_build_object('patient_id', cur -> 'id');
    ELSIF TG_TABLE_NAME = 'prontuario_addenda' THEN
        payload := payload || jsonb_build_object(
            'prontuario_id', cur -> 'prontuario_id',
            'patient_id', (SELECT p.patient_id FROM public.prontuarios p
                           WHERE p.id = (cur ->> 'prontuario_id')::uuid));
    ELSIF cur ? 'patient_id' THEN
        payload := payload || jsonb_build_object('patient_id', cur -> 'patient_id');
    END IF;
    IF cur ? 'physiotherapist_id' THEN
        payload := payload || jsonb_build_object('physiotherapist_id', cur -> 'physiotherapist_id');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        prev := to_jsonb(OLD);
        IF TG_TABLE_NAME <> 'patients' AND prev -> 'patient_id' IS DISTINCT FROM cur -> 'patient_id'
        THEN
            payload := payload || jsonb_build_object('old_patient_id', prev -> 'patient_id');
        END IF;
        IF prev -> 'physiotherapist_id' IS DISTINCT FROM cur -> 'physiotherapist_id' THEN
            payload := payload
                || jsonb_build_object('old_physiotherapist_id', prev -> 'physiotherapist_id');
        END IF;
    END IF;
    PERFORM pg_notify('fisioflow_events', payload::text);
    RETURN NULL;
END
$$;
"""


def _triggers() -> str:
    parts: list[str] = []
    for table in UPDATED_AT_TABLES:
        parts.append(
            f"CREATE TRIGGER {table}_set_updated_at BEFORE UPDATE ON {table}\n"
            "    FOR EACH ROW EXECUTE FUNCTION set_updated_at();"
        )
    for table in AUDITED_TABLES:
        parts.append(
            f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table}\n"
            "    FOR EACH ROW EXECUTE FUNCTION audit_row_change();"
        )
    parts.append(
        "CREATE TRIGGER users_audit AFTER INSERT OR UPDATE OR DELETE ON users\n"
        "    FOR EACH ROW EXECUTE FUNCTION audit_row_change('password_hash');"
    )
    for table in APPEND_ONLY_TABLES:
        parts.append(
            f"CREATE TRIGGER {table}_append_only\n"
            f"    BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}\n"
            "    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();"
        )
        parts.append(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only;")
    for table in NOTIFY_TABLES:
        parts.append(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table}\n"
            "    FOR EACH ROW EXECUTE FUNCTION notify_event();"
        )
    return "\n".join(parts)


def upgrade() -> None:
    run_script("SET LOCAL ROLE fisioflow_owner;\n" + FUNCTIONS + _triggers() + "\nRESET ROLE;")


def downgrade() -> None:
    parts = ["SET LOCAL ROLE fisioflow_owner;"]
    for table in UPDATED_AT_TABLES:
        parts.append(f"DROP TRIGGER IF EXISTS {table}_set_updated_at ON {table};")
    for table in (*AUDITED_TABLES, "users"):
        parts.append(f"DROP TRIGGER IF EXISTS {table}_audit ON {table};")
    for table in APPEND_ONLY_TABLES:
        parts.append(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    for table in NOTIFY_TABLES:
        parts.append(f"DROP TRIGGER IF EXISTS {table}_notify ON {table};")
    parts.append("DROP POLICY IF EXISTS audit_log_owner_insert ON audit_log;")
    parts.append(
        "DROP FUNCTION IF EXISTS set_updated_at(), audit_row_change(),"
        " audit_record_access(text, uuid), refuse_change(), notify_event();"
    )
    parts.append("RESET ROLE;")
    run_script("\n".join(parts))
