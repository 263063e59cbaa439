"""The patient's front-desk data, clinical profile and vital signs (issue 15, item 6).

Revision ID: 0019_profile
Revises: 0018_lifecycle
Create Date: 2026-11-28

- patients: `contact_channel` (whatsapp | sms | email | phone | none; default whatsapp, how
  Brazilian clinics reach patients), insurance (`insurance_provider`, `insurance_plan_name`,
  `insurance_member_number`, `insurance_valid_until`: no plan without a provider) and the
  emergency contact (`emergency_contact_name`, `_phone`, `_relationship`: name and phone
  together). Front-desk data: the patients policies apply, receptionists read and write them.
- `clinical_profiles`: one row per patient, `allergies`, `conditions`, `medications` (text
  lists; NULL = not recorded, empty = none known; at most 50 entries of 1 to 200 characters).
  Clinical data, read as prontuários are: admin, the physiotherapists who treat the patient,
  the patient themself; never a receptionist. Written by the physiotherapists who treat the
  patient (`updated_by` is the writer). Audited, not notified.
- `vital_signs`: a typed time series (append-only like prontuários): every measurement
  optional but at least one, each within its physiological range (the CHECKs below are the
  bounds models/clinical.py `VITAL_SIGN_RANGES` declares; tests/migrations/test_profile.py holds
  them equal), blood pressure as a pair with systolic above diastolic, `recorded_at` not
  in the future. Read like prontuários; inserted by a physiotherapist who treats the patient,
  as `recorded_by`.
- `anonymize_patient` (0009's) also wipes the new personal data: contact channel, insurance
  and emergency contact, and deletes the clinical profile, redacting them from the audit log.
  Vital signs stay, like prontuários (clinical records kept for their legal retention, now of
  an anonymized patient).
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0019_profile"
down_revision: str | None = "0018_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHYSIO = "(select app_role()) = 'physiotherapist'"
SELF = "(select app_physiotherapist_id())"

UPGRADE = f"""
SET LOCAL ROLE fisioflow_owner;
ALTER TABLE patients
    ADD COLUMN contact_channel text NOT NULL DEFAULT 'whatsapp'
        CONSTRAINT patients_contact_channel_check
        CHECK (contact_channel IN ('whatsapp', 'sms', 'email', 'phone', 'none')),
    ADD COLUMN insurance_provider text
        CONSTRAINT patients_insurance_provider_check
        CHECK (length(insurance_provider) BETWEEN 1 AND 200),
    ADD COLUMN insurance_plan_name text
        CONSTRAINT patients_insurance_plan_name_check
        CHECK (length(insurance_plan_name) BETWEEN 1 AND 200),
    ADD COLUMN insurance_member_number text
        CONSTRAINT patients_insurance_member_number_check
        CHECK (length(insurance_member_number) BETWEEN 1 AND 200),
    ADD COLUMN insurance_valid_until date,
    ADD COLUMN emergency_contact_name text
        CONSTRAINT patients_emergency_contact_name_check
        CHECK (length(emergency_contact_name) BETWEEN 1 AND 200),
    ADD COLUMN emergency_contact_phone text
        CONSTRAINT patients_emergency_contact_phone_check
        CHECK (emergency_contact_phone ~ '^\\+?[0-9]{{8,15}}$'),
    ADD COLUMN emergency_contact_relationship text
        CONSTRAINT patients_emergency_contact_relationship_check
        CHECK (length(emergency_contact_relationship) BETWEEN 1 AND 200),
    ADD CONSTRAINT patients_insurance_check CHECK (
        insurance_provider IS NOT NULL
        OR num_nonnulls(insurance_plan_name, insurance_member_number,
                        insurance_valid_until) = 0),
    ADD CONSTRAINT patients_emergency_contact_check CHECK (
        (emergency_contact_name IS NULL) = (emergency_contact_phone IS NULL)
        AND (emergency_contact_relationship IS NULL OR emergency_contact_name IS NOT NULL));

-- A clinical list: at most 50 entries, each 1 to 200 characters after trimming.
CREATE FUNCTION clinical_list_ok(entries text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN entries IS NULL
        OR (cardinality(entries) <= 50
            AND array_ndims(entries) IS DISTINCT FROM 2
            AND NOT EXISTS (SELECT FROM unnest(entries) e
                             WHERE e IS NULL OR length(e) NOT BETWEEN 1 AND 200
                                OR e <> btrim(e)));

CREATE TABLE clinical_profiles (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    patient_id uuid NOT NULL,
    allergies text[] CONSTRAINT clinical_profiles_allergies_check
        CHECK (clinical_list_ok(allergies)),
    conditions text[] CONSTRAINT clinical_profiles_conditions_check
        CHECK (clinical_list_ok(conditions)),
    medications text[] CONSTRAINT clinical_profiles_medications_check
        CHECK (clinical_list_ok(medications)),
    updated_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, id),
    CONSTRAINT clinical_profiles_patient_key UNIQUE (patient_id),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
    FOREIGN KEY (clinic_id, updated_by) REFERENCES physiotherapists (clinic_id, id)
);
ALTER TABLE clinical_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE clinical_profiles FORCE ROW LEVEL SECURITY;
CREATE POLICY clinical_profiles_clinic_scope ON clinical_profiles AS RESTRICTIVE
    TO fisioflow_app
    USING (clinic_id = (select app_clinic_id()))
    WITH CHECK (clinic_id = (select app_clinic_id()));
CREATE POLICY clinical_profiles_select_admin ON clinical_profiles FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'admin');
CREATE POLICY clinical_profiles_select_physio ON clinical_profiles FOR SELECT TO fisioflow_app
    USING ({PHYSIO} AND app_treats_patient(patient_id));
CREATE POLICY clinical_profiles_select_own ON clinical_profiles FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));
CREATE POLICY clinical_profiles_insert_physio ON clinical_profiles FOR INSERT TO fisioflow_app
    WITH CHECK ({PHYSIO} AND updated_by = {SELF} AND app_treats_patient(patient_id));
CREATE POLICY clinical_profiles_update_physio ON clinical_profiles FOR UPDATE TO fisioflow_app
    USING ({PHYSIO} AND app_treats_patient(patient_id))
    WITH CHECK ({PHYSIO} AND updated_by = {SELF} AND app_treats_patient(patient_id));
GRANT SELECT, INSERT ON clinical_profiles TO fisioflow_app;
GRANT UPDATE (allergies, conditions, medications, updated_by) ON clinical_profiles
    TO fisioflow_app;
CREATE TRIGGER clinical_profiles_set_updated_at BEFORE UPDATE ON clinical_profiles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER clinical_profiles_audit AFTER INSERT OR UPDATE OR DELETE ON clinical_profiles
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
-- LGPD erasure (anonymize_patient, below) deletes the profile as the owner.
CREATE POLICY clinical_profiles_owner_anonymize_select ON clinical_profiles FOR SELECT
    TO fisioflow_owner USING (current_setting('fisioflow.definer', true) = 'anonymize');
CREATE POLICY clinical_profiles_owner_anonymize_delete ON clinical_profiles FOR DELETE
    TO fisioflow_owner USING (current_setting('fisioflow.definer', true) = 'anonymize');

CREATE TABLE vital_signs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    patient_id uuid NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    recorded_by uuid NOT NULL,
    heart_rate integer CONSTRAINT vital_signs_heart_rate_check
        CHECK (heart_rate BETWEEN 20 AND 250),
    systolic integer CONSTRAINT vital_signs_systolic_check
        CHECK (systolic BETWEEN 50 AND 260),
    diastolic integer CONSTRAINT vital_signs_diastolic_check
        CHECK (diastolic BETWEEN 30 AND 160),
    respiratory_rate integer CONSTRAINT vital_signs_respiratory_rate_check
        CHECK (respiratory_rate BETWEEN 4 AND 60),
    spo2 integer CONSTRAINT vital_signs_spo2_check
        CHECK (spo2 BETWEEN 50 AND 100),
    temperature numeric(3, 1) CONSTRAINT vital_signs_temperature_check
        CHECK (temperature BETWEEN 30 AND 45),
    pain_level integer CONSTRAINT vital_signs_pain_level_check
        CHECK (pain_level BETWEEN 0 AND 10),
    weight_kg numeric(5, 2) CONSTRAINT vital_signs_weight_kg_check
        CHECK (weight_kg BETWEEN 0.5 AND 400),
    height_cm numeric(4, 1) CONSTRAINT vital_signs_height_cm_check
        CHECK (height_cm BETWEEN 30 AND 250),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, id),
    CONSTRAINT vital_signs_blood_pressure_check CHECK (
        (systolic IS NULL) = (diastolic IS NULL) AND NOT systolic <= diastolic),
    CONSTRAINT vital_signs_measured_check CHECK (
        num_nonnulls(heart_rate, systolic, diastolic, respiratory_rate, spo2, temperature,
                     pain_level, weight_kg, height_cm) > 0),
    CONSTRAINT vital_signs_recorded_at_check CHECK (
        recorded_at <= created_at + interval '5 minutes'),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
    FOREIGN KEY (clinic_id, recorded_by) REFERENCES physiotherapists (clinic_id, id)
);
CREATE INDEX vital_signs_patient_idx ON vital_signs (patient_id, recorded_at, id);
CREATE INDEX vital_signs_clinic_idx ON vital_signs (clinic_id, recorded_at, id);
ALTER TABLE vital_signs ENABLE ROW LEVEL SECURITY;
ALTER TABLE vital_signs FORCE ROW LEVEL SECURITY;
CREATE POLICY vital_signs_clinic_scope ON vital_signs AS RESTRICTIVE TO fisioflow_app
    USING (clinic_id = (select app_clinic_id()))
    WITH CHECK (clinic_id = (select app_clinic_id()));
CREATE POLICY vital_signs_select_admin ON vital_signs FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'admin');
CREATE POLICY vital_signs_select_physio ON vital_signs FOR SELECT TO fisioflow_app
    USING ({PHYSIO} AND app_treats_patient(patient_id));
CREATE POLICY vital_signs_select_own ON vital_signs FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));
CREATE POLICY vital_signs_insert_physio ON vital_signs FOR INSERT TO fisioflow_app
    WITH CHECK ({PHYSIO} AND recorded_by = {SELF} AND app_treats_patient(patient_id));
GRANT SELECT, INSERT ON vital_signs TO fisioflow_app;
CREATE TRIGGER vital_signs_audit AFTER INSERT OR UPDATE OR DELETE ON vital_signs
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER vital_signs_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON vital_signs
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
ALTER TABLE vital_signs ENABLE ALWAYS TRIGGER vital_signs_append_only;
"""

DOWNGRADE = """
SET LOCAL ROLE fisioflow_owner;
DROP TABLE vital_signs;
DROP TABLE clinical_profiles;
DROP FUNCTION clinical_list_ok(text[]);
ALTER TABLE patients
    DROP CONSTRAINT patients_emergency_contact_check,
    DROP CONSTRAINT patients_insurance_check,
    DROP COLUMN emergency_contact_relationship,
    DROP COLUMN emergency_contact_phone,
    DROP COLUMN emergency_contact_name,
    DROP COLUMN insurance_valid_until,
    DROP COLUMN insurance_member_number,
    DROP COLUMN insurance_plan_name,
    DROP COLUMN insurance_provider,
    DROP COLUMN contact_channel;
"""

PATIENT_PERSONAL_0009 = "ARRAY['name', 'email', 'phone', 'birth_date', 'cpf', 'cns', 'address']"
PATIENT_PERSONAL = (
    "ARRAY['name', 'email', 'phone', 'birth_date', 'cpf', 'cns', 'address', 'contact_channel',"
    " 'insurance_provider', 'insurance_plan_name', 'insurance_member_number',"
    " 'insurance_valid_until', 'emergency_contact_name', 'emergency_contact_phone',"
    " 'emergency_contact_relationship']"
)
PROFILE_PERSONAL = "ARRAY['allergies', 'conditions', 'medications']"
LOGIN_PERSONAL = "ARRAY['email', 'external_subject']"

# What this revision adds to 0009's function: the new columns wiped, the profile deleted and
# both redacted from the audit log.
NEW_COLUMNS = """,
           contact_channel = 'none', insurance_provider = NULL, insurance_plan_name = NULL,
           insurance_member_number = NULL, insurance_valid_until = NULL,
           emergency_contact_name = NULL, emergency_contact_phone = NULL,
           emergency_contact_relationship = NULL"""
PROFILE_WIPE = f"""
        DELETE FROM public.clinical_profiles c
         WHERE c.patient_id = target AND c.clinic_id = clinic
        RETURNING c.id INTO profile;
        UPDATE public.audit_log l
           SET old_data = public.audit_redact(l.old_data, {PROFILE_PERSONAL}),
               new_data = public.audit_redact(l.new_data, {PROFILE_PERSONAL})
         WHERE l.clinic_id = clinic AND l.table_name = 'clinical_profiles'
           AND l.record_id = profile
           AND (l.old_data ?| {PROFILE_PERSONAL} OR l.new_data ?| {PROFILE_PERSONAL});"""


def _anonymize_patient(patient_columns: str, patient_personal: str, profile: str) -> str:
    """0009's function, with what it wipes on the patient and, here, the profile."""
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
    profile uuid;
BEGIN
    IF clinic IS NULL OR public.app_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only an administrator may anonymize a patient'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('fisioflow.definer', 'anonymize', true);
    UPDATE public.patients
       SET name = 'Paciente anonimizado', email = NULL, phone = NULL, birth_date = NULL,
           cpf = NULL, cns = NULL, address = NULL, status = 'inactive',
           anonymized_at = now(){patient_columns}
     WHERE id = target AND clinic_id = clinic AND anonymized_at IS NULL
    RETURNING anonymized_at INTO stamp;
    IF stamp IS NOT NULL THEN
        SELECT coalesce(array_agg(u.id), '{{}}') INTO logins
          FROM public.users u WHERE u.patient_id = target AND u.clinic_id = clinic;
        UPDATE public.users u
           SET active = false, password_hash = '!anonimizado',
               email = 'anonimizado.' || u.id || '@anonimizado.invalid',
               external_subject = NULL
         WHERE u.id = ANY (logins);{profile}
        UPDATE public.audit_log l
           SET old_data = public.audit_redact(l.old_data, {patient_personal}),
               new_data = public.audit_redact(l.new_data, {patient_personal})
         WHERE l.clinic_id = clinic AND l.table_name = 'patients' AND l.record_id = target
           AND (l.old_data ?| {patient_personal} OR l.new_data ?| {patient_personal});
        UPDATE public.audit_log l
           SET old_data = public.audit_redact(l.old_data, {LOGIN_PERSONAL}),
               new_data = public.audit_redact(l.new_data, {LOGIN_PERSONAL})
         WHERE l.clinic_id = clinic AND l.table_name = 'users' AND l.record_id = ANY (logins)
           AND (l.old_data ?| {LOGIN_PERSONAL} OR l.new_data ?| {LOGIN_PERSONAL});
    END IF;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
    RETURN stamp;
END
$$;
"""


def upgrade() -> None:
    function = _anonymize_patient(NEW_COLUMNS, PATIENT_PERSONAL, PROFILE_WIPE)
    run_script(UPGRADE + function + "RESET ROLE;\n")


def downgrade() -> None:
    function = _anonymize_patient("", PATIENT_PERSONAL_0009, "")
    run_script("SET LOCAL ROLE fisioflow_owner;\n" + function + DOWNGRADE + "RESET ROLE;\n")
