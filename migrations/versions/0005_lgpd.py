"""LGPD: consent history, request deadlines, anonymization with audit redaction, read audit,
and the aggregate metrics the compliance status is computed from.

Revision ID: 0005_lgpd
Revises: 0004_exercise_library
Create Date: 2026-11-22

- consents: `revocation_acknowledged_at` (the clinic confirms it stopped processing for a
  revoked purpose: an unanswered revocation is one without it). `consents_rules` keeps the
  history: purpose, legal basis, policy version and subject never change; a revoked consent
  stays revoked (a new grant is a new row); a revocation is acknowledged once.
- data_subject_requests: `data_subject_requests_rules` makes the deadline the database's:
  due_at = requested_at + 15 days (LGPD art. 19), requested_at not in the future, subject,
  kind and deadline immutable, a fulfilled request frozen and always answered (CHECK).
  data_subject_requests now also NOTIFY (the compliance status depends on them).
- `anonymize_patient(id)` (admin only, SECURITY DEFINER): replaces the patient's personal data
  (name, CPF, CNS, e-mail, phone, address, birth date), marks `anonymized_at`, deactivates and
  scrubs the patient's login, then redacts the same personal values in that patient's audit
  rows (and their login's), replacing each by "[anonimizado]". That redaction is the one
  documented exception to the append-only audit log: refuse_change() (0003) lets an UPDATE
  of audit_log through only for the owner while `fisioflow.definer = 'anonymize'`, and the row
  trigger `audit_log_redaction_only` refuses any change but replacing JSON values by the
  marker (actor, time, table, record and operation stay as they were). Why not keep personal
  values out of the audit log from the start (hashing)? Audit rows of a living patient must
  show what changed (a wrong CPF corrected, a phone changed); hashes of 10^9 possible CPFs are
  trivially reversible, so they would protect nothing while hiding what an auditor needs.
- `audit_record_reads(table, ids[])`: one INSERT for a whole batch of read records (operation
  'SELECT'), under the caller's identity; graph/api/audit_reads.py batches per request.
- `compliance_metrics()`: the clinic's counts (consent coverage, requests past due, unanswered
  revocations, completed appointments without a record, records without the author's
  CREFITO, audit trigger coverage) for any staff role, whatever rows its own RLS shows: only
  aggregates leave the function.
Owner policies for these functions are gated on `fisioflow.definer` as in 0002.
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0005_lgpd"
down_revision: str | None = "0004_exercise_library"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns of each audited table that identify the patient (redacted on anonymization).
PATIENT_PERSONAL = "ARRAY['name', 'email', 'phone', 'birth_date', 'cpf', 'cns', 'address']"
USER_PERSONAL = "ARRAY['email']"

# Tables whose audit trigger the compliance status expects (DESIGN.md, issue 6).
AUDIT_REQUIRED = (
    "patients",
    "appointments",
    "prontuarios",
    "prontuario_addenda",
    "exercise_prescriptions",
    "exercise_executions",
    "payments",
    "consents",
    "data_subject_requests",
    "users",
)

RULES = """
ALTER TABLE consents
    ADD COLUMN revocation_acknowledged_at timestamptz,
    ADD CONSTRAINT consents_acknowledged_after_revocation CHECK (
        revocation_acknowledged_at IS NULL
        OR (revoked_at IS NOT NULL AND revocation_acknowledged_at >= revoked_at));
CREATE INDEX consents_unanswered_revocations_idx ON consents (clinic_id, revoked_at)
    WHERE revoked_at IS NOT NULL AND revocation_acknowledged_at IS NULL;

ALTER TABLE data_subject_requests
    ADD CONSTRAINT data_subject_requests_answered CHECK (
        fulfilled_at IS NULL OR length(trim(coalesce(response, ''))) > 0);

CREATE INDEX audit_log_actor_idx ON audit_log (clinic_id, actor_id, at, id);
-- For compliance_metrics(): counts per clinic without scanning every clinic's records.
CREATE INDEX prontuarios_clinic_idx ON prontuarios (clinic_id);
CREATE INDEX prontuarios_without_crefito_idx ON prontuarios (clinic_id)
    WHERE trim(author_crefito) !~* '^(CREFITO-?)?[0-9]{1,2}/[0-9]{3,7}-?(F|TO)$';
CREATE INDEX appointments_completed_idx ON appointments (clinic_id)
    WHERE status = 'completed';

-- Runs after consents_patient_guard (triggers fire in name order), so a patient still gets
-- the guard's message first.
CREATE FUNCTION consent_history_rules() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF (NEW.clinic_id, NEW.patient_id, NEW.purpose, NEW.legal_basis, NEW.policy_version,
        NEW.granted_at, NEW.created_at)
       IS DISTINCT FROM (OLD.clinic_id, OLD.patient_id, OLD.purpose, OLD.legal_basis,
                         OLD.policy_version, OLD.granted_at, OLD.created_at) THEN
        RAISE EXCEPTION 'a consent keeps its history: grant a new consent instead of editing one'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.revoked_at IS NOT NULL
       AND (NEW.granted, NEW.revoked_at) IS DISTINCT FROM (OLD.granted, OLD.revoked_at) THEN
        RAISE EXCEPTION 'a revoked consent stays revoked: grant a new consent instead'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.revocation_acknowledged_at IS NOT NULL
       AND NEW.revocation_acknowledged_at IS DISTINCT FROM OLD.revocation_acknowledged_at THEN
        RAISE EXCEPTION 'a revocation is acknowledged only once'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consents_rules BEFORE UPDATE ON consents
    FOR EACH ROW EXECUTE FUNCTION consent_history_rules();

CREATE FUNCTION data_subject_request_rules() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.requested_at > now() THEN
            RAISE EXCEPTION 'a data-subject request cannot be dated in the future'
                USING ERRCODE = 'check_violation';
        END IF;
        NEW.due_at := NEW.requested_at + interval '15 days';
        RETURN NEW;
    END IF;
    IF OLD.fulfilled_at IS NOT NULL THEN
        RAISE EXCEPTION 'a fulfilled data-subject request cannot be changed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.clinic_id, NEW.patient_id, NEW.kind, NEW.requested_at, NEW.due_at, NEW.created_at)
       IS DISTINCT FROM (OLD.clinic_id, OLD.patient_id, OLD.kind, OLD.requested_at, OLD.due_at,
                         OLD.created_at) THEN
        RAISE EXCEPTION 'the subject, kind and deadline of a data-subject request cannot change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER data_subject_requests_rules BEFORE INSERT OR UPDATE ON data_subject_requests
    FOR EACH ROW EXECUTE FUNCTION data_subject_request_rules();
CREATE TRIGGER data_subject_requests_notify AFTER INSERT OR UPDATE OR DELETE
    ON data_subject_requests FOR EACH ROW EXECUTE FUNCTION notify_event();
"""

REDACTION = f"""
-- `data` with every non-null value of the `personal` keys replaced by "[anonimizado]".
CREATE FUNCTION audit_redact(data jsonb, personal text[]) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN data || coalesce((SELECT jsonb_object_agg(e.key, '"[anonimizado]"'::jsonb)
                             FROM jsonb_each(data) e
                             WHERE e.key = ANY (personal) AND e.value <> 'null'::jsonb),
                            '{{}}'::jsonb);

-- `after` is `before` with some values replaced by "[anonimizado]", and nothing else changed.
CREATE FUNCTION audit_is_redaction(before jsonb, after jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (before IS NULL AND after IS NULL)
        OR (before IS NOT NULL AND after IS NOT NULL
            AND (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(before) k)
                IS NOT DISTINCT FROM
                (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(after) k)
            AND NOT EXISTS (SELECT FROM jsonb_each(after) a JOIN jsonb_each(before) b USING (key)
                            WHERE a.value IS DISTINCT FROM b.value
                              AND a.value <> '"[anonimizado]"'::jsonb));

CREATE FUNCTION audit_redaction_only() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF (NEW.id, NEW.clinic_id, NEW.table_name, NEW.operation, NEW.record_id, NEW.actor_id,
        NEW.actor_role, NEW.at)
       IS DISTINCT FROM (OLD.id, OLD.clinic_id, OLD.table_name, OLD.operation, OLD.record_id,
                         OLD.actor_id, OLD.actor_role, OLD.at)
       OR NOT public.audit_is_redaction(OLD.old_data, NEW.old_data)
       OR NOT public.audit_is_redaction(OLD.new_data, NEW.new_data) THEN
        RAISE EXCEPTION 'audit_log is append-only: only an anonymized patient''s personal data'
                        ' may be redacted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_redaction_only BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_redaction_only();
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_redaction_only;

-- LGPD erasure. Returns the anonymization time, or NULL when the patient is not in the
-- caller's clinic or was anonymized already.
CREATE FUNCTION anonymize_patient(target uuid) RETURNS timestamptz
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
    clinic uuid := public.app_clinic_id();
    stamp timestamptz;
    logins uuid[];
BEGIN
    IF clinic IS NULL OR public.app_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only an administrator may anonymize a patient'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('fisioflow.definer', 'anonymize', true);
    UPDATE public.patients
       SET name = 'Paciente anonimizado', email = NULL, phone = NULL, birth_date = NULL,
           cpf = NULL, cns = NULL, address = NULL, status = 'inactive', anonymized_at = now()
     WHERE id = target AND clinic_id = clinic AND anonymized_at IS NULL
    RETURNING anonymized_at INTO stamp;
    IF stamp IS NOT NULL THEN
        SELECT coalesce(array_agg(u.id), '{{}}') INTO logins
          FROM public.users u WHERE u.patient_id = target AND u.clinic_id = clinic;
        UPDATE public.users u
           SET active = false, password_hash = '!anonimizado',
               email = 'anonimizado.' || u.id || '@anonimizado.invalid'
         WHERE u.id = ANY (logins);
        UPDATE public.audit_log l
           SET old_data = public.audit_redact(l.old_data, {PATIENT_PERSONAL}),
               new_data = public.audit_redact(l.new_data, {PATIENT_PERSONAL})
         WHERE l.clinic_id = clinic AND l.table_name = 'patients' AND l.record_id = target
           AND (l.old_data ?| {PATIENT_PERSONAL} OR l.new_data ?| {PATIENT_PERSONAL});
        UPDATE public.audit_log l
           SET old_data = public.audit_redact(l.old_data, {USER_PERSONAL}),
               new_data = public.audit_redact(l.new_data, {USER_PERSONAL})
         WHERE l.clinic_id = clinic AND l.table_name = 'users' AND l.record_id = ANY (logins)
           AND (l.old_data ?| {USER_PERSONAL} OR l.new_data ?| {USER_PERSONAL});
    END IF;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
    RETURN stamp;
END
$$;
CREATE POLICY patients_owner_anonymize_select ON patients FOR SELECT TO fisioflow_owner
    USING (current_setting('fisioflow.definer', true) = 'anonymize');
CREATE POLICY patients_owner_anonymize_update ON patients FOR UPDATE TO fisioflow_owner
    USING (current_setting('fisioflow.definer', true) = 'anonymize')
    WITH CHECK (current_setting('fisioflow.definer', true) = 'anonymize');
CREATE POLICY users_owner_anonymize_select ON users FOR SELECT TO fisioflow_owner
    USING (current_setting('fisioflow.definer', true) = 'anonymize');
CREATE POLICY users_owner_anonymize_update ON users FOR UPDATE TO fisioflow_owner
    USING (current_setting('fisioflow.definer', true) = 'anonymize')
    WITH CHECK (current_setting('fisioflow.definer', true) = 'anonymize');
CREATE POLICY audit_log_owner_redact_select ON audit_log FOR SELECT TO fisioflow_owner
    USING (current_setting('fisioflow.definer', true) = 'anonymize');
CREATE POLICY audit_log_owner_redact_update ON audit_log FOR UPDATE TO fisioflow_owner
    USING (current_setting('fisioflow.definer', true) = 'anonymize')
    WITH CHECK (current_setting('fisioflow.definer', true) = 'anonymize');
"""

READS = """
-- Reads of clinical records, one INSERT per batch, under the caller's identity and clinic.
CREATE FUNCTION audit_record_reads(table_name text, record_ids uuid[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
BEGIN
    IF public.app_clinic_id() IS NULL OR coalesce(cardinality(record_ids), 0) = 0 THEN
        RETURN;
    END IF;
    PERFORM set_config('fisioflow.definer', 'audit', true);
    INSERT INTO public.audit_log (clinic_id, table_name, operation, record_id, actor_id,
                                  actor_role)
    SELECT public.app_clinic_id(), audit_record_reads.table_name, 'SELECT', ids.id,
           public.app_user_id(), public.app_role()
      FROM (SELECT DISTINCT unnest(record_ids) AS id) ids
     WHERE ids.id IS NOT NULL;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
END
$$;
"""

METRICS = """
CREATE FUNCTION compliance_metrics()
    RETURNS TABLE (active_patients bigint, consented_patients bigint, open_requests bigint,
                   overdue_requests bigint, oldest_overdue_due_at timestamptz,
                   requests_due_soon bigint, unanswered_revocations bigint,
                   oldest_unanswered_revocation_at timestamptz, completed_appointments bigint,
                   appointments_without_record bigint, total_prontuarios bigint,
                   prontuarios_without_crefito bigint, audited_tables text[],
                   unaudited_tables text[])
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
    clinic uuid := public.app_clinic_id();
    covered text[];
    missing text[];
BEGIN
    IF clinic IS NULL
       OR coalesce(public.app_role(), '') NOT IN ('admin', 'physiotherapist', 'receptionist') THEN
        RAISE EXCEPTION 'only clinic staff may read compliance metrics'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT coalesce(array_agg(r.t ORDER BY r.t) FILTER (WHERE r.ok), '{}'),
           coalesce(array_agg(r.t ORDER BY r.t) FILTER (WHERE NOT r.ok), '{}')
      INTO covered, missing
      FROM (SELECT req.t, EXISTS (
                SELECT FROM pg_catalog.pg_trigger g
                 WHERE g.tgrelid = to_regclass('public.' || req.t)
                   AND g.tgfoid = 'public.audit_row_change'::regproc
                   AND g.tgenabled <> 'D') AS ok
              FROM unnest(ARRAY[AUDIT_REQUIRED]) AS req(t)) r;
    PERFORM set_config('fisioflow.definer', 'compliance', true);
    RETURN QUERY SELECT
        (SELECT count(*) FROM public.patients p
          WHERE p.clinic_id = clinic AND p.status = 'active' AND p.anonymized_at IS NULL),
        (SELECT count(*) FROM public.patients p
          WHERE p.clinic_id = clinic AND p.status = 'active' AND p.anonymized_at IS NULL
            AND EXISTS (SELECT FROM public.consents k
                         WHERE k.patient_id = p.id AND k.clinic_id = clinic AND k.granted)),
        (SELECT count(*) FROM public.data_subject_requests d
          WHERE d.clinic_id = clinic AND d.fulfilled_at IS NULL),
        (SELECT count(*) FROM public.data_subject_requests d
          WHERE d.clinic_id = clinic AND d.fulfilled_at IS NULL AND d.due_at < now()),
        (SELECT min(d.due_at) FROM public.data_subject_requests d
          WHERE d.clinic_id = clinic AND d.fulfilled_at IS NULL AND d.due_at < now()),
        (SELECT count(*) FROM public.data_subject_requests d
          WHERE d.clinic_id = clinic AND d.fulfilled_at IS NULL
            AND d.due_at >= now() AND d.due_at < now() + interval '3 days'),
        (SELECT count(*) FROM public.consents k
          WHERE k.clinic_id = clinic AND k.revoked_at IS NOT NULL
            AND k.revocation_acknowledged_at IS NULL),
        (SELECT min(k.revoked_at) FROM public.consents k
          WHERE k.clinic_id = clinic AND k.revoked_at IS NOT NULL
            AND k.revocation_acknowledged_at IS NULL),
        (SELECT count(*) FROM public.appointments a
          WHERE a.clinic_id = clinic AND a.status = 'completed'
            AND coalesce(a.completed_at, a.ends_at) < now() - interval '24 hours'),
        (SELECT count(*) FROM public.appointments a
          WHERE a.clinic_id = clinic AND a.status = 'completed'
            AND coalesce(a.completed_at, a.ends_at) < now() - interval '24 hours'
            AND NOT EXISTS (SELECT FROM public.prontuarios r
                             WHERE r.appointment_id = a.id AND r.clinic_id = clinic)),
        (SELECT count(*) FROM public.prontuarios r WHERE r.clinic_id = clinic),
        (SELECT count(*) FROM public.prontuarios r
          WHERE r.clinic_id = clinic
            AND trim(r.author_crefito) !~* '^(CREFITO-?)?[0-9]{1,2}/[0-9]{3,7}-?(F|TO)$'),
        covered,
        missing;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
END
$$;
"""

METRICS_TABLES = ("patients", "consents", "data_subject_requests", "appointments", "prontuarios")

GRANTS = """
REVOKE ALL ON FUNCTION anonymize_patient(uuid), audit_record_reads(text, uuid[]),
    compliance_metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION anonymize_patient(uuid), audit_record_reads(text, uuid[]),
    compliance_metrics() TO fisioflow_app;
"""


def _metrics_policies() -> str:
    return "\n".join(
        f"CREATE POLICY {table}_owner_compliance_select ON {table} FOR SELECT TO fisioflow_owner\n"
        "    USING (current_setting('fisioflow.definer', true) = 'compliance');"
        for table in METRICS_TABLES
    )


def upgrade() -> None:
    required = ", ".join(f"'{table}'" for table in AUDIT_REQUIRED)
    run_script(
        "SET LOCAL ROLE fisioflow_owner;\n"
        + RULES
        + REDACTION
        + READS
        + METRICS.replace("AUDIT_REQUIRED", required)
        + _metrics_policies()
        + "\n"
        + GRANTS
        + "RESET ROLE;\n"
    )


DOWNGRADE = """
SET LOCAL ROLE fisioflow_owner;
DROP TRIGGER IF EXISTS consents_rules ON consents;
DROP TRIGGER IF EXISTS data_subject_requests_rules ON data_subject_requests;
DROP TRIGGER IF EXISTS data_subject_requests_notify ON data_subject_requests;
DROP TRIGGER IF EXISTS audit_log_redaction_only ON audit_log;
DROP POLICY IF EXISTS patients_owner_anonymize_select ON patients;
DROP POLICY IF EXISTS patients_owner_anonymize_update ON patients;
DROP POLICY IF EXISTS users_owner_anonymize_select ON users;
DROP POLICY IF EXISTS users_owner_anonymize_update ON users;
DROP POLICY IF EXISTS audit_log_owner_redact_select ON audit_log;
DROP POLICY IF EXISTS audit_log_owner_redact_update ON audit_log;
DROP FUNCTION IF EXISTS consent_history_rules(), data_subject_request_rules(),
    audit_redaction_only(), anonymize_patient(uuid), audit_record_reads(text, uuid[]),
    compliance_metrics(), audit_redact(jsonb, text[]), audit_is_redaction(jsonb, jsonb);
DROP INDEX IF EXISTS audit_log_actor_idx;
DROP INDEX IF EXISTS prontuarios_clinic_idx;
DROP INDEX IF EXISTS prontuarios_without_crefito_idx;
DROP INDEX IF EXISTS appointments_completed_idx;
DROP INDEX IF EXISTS consents_unanswered_revocations_idx;
ALTER TABLE data_subject_requests DROP CONSTRAINT IF EXISTS data_subject_requests_answered;
ALTER TABLE consents DROP CONSTRAINT IF EXISTS consents_acknowledged_after_revocation;
ALTER TABLE consents DROP COLUMN IF EXISTS revocation_acknowledged_at;
"""


def downgrade() -> None:
    policies = "\n".join(
        f"DROP POLICY IF EXISTS {table}_owner_compliance_select ON {table};"
        for table in METRICS_TABLES
    )
    run_script(DOWNGRADE + policies + "\nRESET ROLE;")
