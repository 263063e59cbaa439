"""LGPD erasure also unlinks the login from the identity provider.

Revision ID: 0009_erasure_unlinks_login
Revises: 0008_identity_and_care_team
Create Date: 2026-11-28

`anonymize_patient(target)` (0005) deactivated the patient's login and replaced its e-mail, but
left `users.external_subject` (0008): the provider's identifier of that person, personal data
that also kept the login findable by a provider token. It now sets it to NULL and redacts it
from the login's audit rows too (`fisioflow link-login` wrote it there in clear). The function
is otherwise 0005's, unchanged; downgrade restores that one.
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0009_erasure_unlinks_login"
down_revision: str | None = "0008_identity_and_care_team"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PATIENT_PERSONAL = "ARRAY['name', 'email', 'phone', 'birth_date', 'cpf', 'cns', 'address']"


def _anonymize_patient(login_columns: str, login_personal: str) -> str:
    """0005's function, with what it clears on the login and redacts from its audit rows."""
    return f"""
CREATE OR REPLACE FUNCTION anonymize_patient(target uuid) RETURNS timestamptz
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
               email = 'anonimizado.' || u.id || '@anonimizado.invalid'{login_columns}
         WHERE u.id = ANY (logins);
        UPDATE public.audit_log l
           SET old_data = public.audit_redact(l.old_data, {PATIENT_PERSONAL}),
               new_data = public.audit_redact(l.new_data, {PATIENT_PERSONAL})
         WHERE l.clinic_id = clinic AND l.table_name = 'patients' AND l.record_id = target
           AND (l.old_data ?| {PATIENT_PERSONAL} OR l.new_data ?| {PATIENT_PERSONAL});
        UPDATE public.audit_log l
           SET old_data = public.audit_redact(l.old_data, {login_personal}),
               new_data = public.audit_redact(l.new_data, {login_personal})
         WHERE l.clinic_id = clinic AND l.table_name = 'users' AND l.record_id = ANY (logins)
           AND (l.old_data ?| {login_personal} OR l.new_data ?| {login_personal});
    END IF;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
    RETURN stamp;
END
$$;
"""


def upgrade() -> None:
    function = _anonymize_patient(
        ",\n               external_subject = NULL", "ARRAY['email', 'external_subject']"
    )
    run_script("SET LOCAL ROLE fisioflow_owner;\n" + function + "RESET ROLE;\n")


def downgrade() -> None:
    function = _anonymize_patient("", "ARRAY['email']")
    run_script("SET LOCAL ROLE fisioflow_owner;\n" + function + "RESET ROLE;\n")
