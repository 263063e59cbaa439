"""Roles, extensions and every table of the platform.

Revision ID: 0001_schema
Revises:
Create Date: 2026-11-21

Tables are created by `fisioflow_owner` (the migration switches to it), so requests, which
run as `fisioflow_app`, own nothing. Row-level security and triggers come in later revisions.
Cross-table references carry `clinic_id` (composite foreign keys), so a row can never point
at another clinic's row even when the referencing code is wrong.
"""

from collections.abc import Sequence

from migrations.roles import CREATE_ROLES
from migrations.sql import run_script

revision: str = "0001_schema"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = (
    CREATE_ROLES
    + """
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT fisioflow_owner, fisioflow_app TO %I', current_user);
    END IF;
END
$$;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
DO $$
BEGIN
    EXECUTE format('GRANT CREATE ON SCHEMA public TO fisioflow_owner');
    EXECUTE format('GRANT USAGE ON SCHEMA public TO fisioflow_app');
END
$$;
"""
)

TABLES = """
SET LOCAL ROLE fisioflow_owner;

-- unaccent() is only STABLE; indexes need an IMMUTABLE wrapper with a fixed dictionary.
CREATE FUNCTION immutable_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN public.unaccent('public.unaccent'::regdictionary, $1);

CREATE TABLE clinics (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(trim(name)) > 0),
    cnpj text CHECK (cnpj ~ '^[0-9]{14}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE physiotherapists (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    name text NOT NULL CHECK (length(trim(name)) > 0),
    email text NOT NULL,
    crefito text NOT NULL,
    specialty text,
    phone text,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, id),
    CONSTRAINT physiotherapists_crefito_key UNIQUE (clinic_id, crefito)
);
CREATE UNIQUE INDEX physiotherapists_email_key ON physiotherapists (clinic_id, lower(email));
CREATE INDEX physiotherapists_clinic_name_idx ON physiotherapists (clinic_id, name, id);

CREATE TABLE patients (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    physiotherapist_id uuid,
    name text NOT NULL CHECK (length(trim(name)) > 0),
    email text,
    phone text,
    birth_date date,
    cpf text CHECK (cpf ~ '^[0-9]{11}$'),
    cns text CHECK (cns ~ '^[0-9]{15}$'),
    address text,
    status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'inactive', 'discharged')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    anonymized_at timestamptz,
    UNIQUE (clinic_id, id),
    CONSTRAINT patients_cpf_key UNIQUE (clinic_id, cpf),
    FOREIGN KEY (clinic_id, physiotherapist_id) REFERENCES physiotherapists (clinic_id, id)
);
CREATE INDEX patients_clinic_name_idx ON patients (clinic_id, name, id);
CREATE INDEX patients_physiotherapist_idx ON patients (physiotherapist_id, name, id);
CREATE INDEX patients_name_search_idx ON patients
    USING gin (immutable_unaccent(lower(name)) gin_trgm_ops);

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    email text NOT NULL CHECK (email LIKE '%_@_%'),
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'physiotherapist', 'receptionist', 'patient')),
    physiotherapist_id uuid,
    patient_id uuid,
    active boolean NOT NULL DEFAULT true,
    last_login_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'physiotherapist') = (physiotherapist_id IS NOT NULL)),
    CHECK ((role = 'patient') = (patient_id IS NOT NULL)),
    FOREIGN KEY (clinic_id, physiotherapist_id) REFERENCES physiotherapists (clinic_id, id),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);
-- One login per e-mail across the platform: login takes only e-mail and password.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_patient_key ON users (patient_id) WHERE patient_id IS NOT NULL;
CREATE UNIQUE INDEX users_physiotherapist_key ON users (physiotherapist_id)
    WHERE physiotherapist_id IS NOT NULL;
CREATE INDEX users_clinic_idx ON users (clinic_id, email);

CREATE TABLE appointments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    patient_id uuid NOT NULL,
    physiotherapist_id uuid NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    type text NOT NULL
        CHECK (type IN ('evaluation', 'session', 'reevaluation', 'teleconsultation')),
    status text NOT NULL DEFAULT 'scheduled'
        CHECK (status IN ('scheduled', 'confirmed', 'completed', 'cancelled', 'no_show')),
    notes text,
    price numeric(12, 2) CHECK (price > 0),
    cancel_reason text,
    cancelled_at timestamptz,
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, id),
    CONSTRAINT appointments_duration_check
        CHECK (ends_at - starts_at BETWEEN interval '5 minutes' AND interval '480 minutes'),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
    FOREIGN KEY (clinic_id, physiotherapist_id) REFERENCES physiotherapists (clinic_id, id),
    CONSTRAINT appointments_no_double_booking EXCLUDE USING gist (
        physiotherapist_id WITH =,
        tstzrange(starts_at, ends_at) WITH &&
    ) WHERE (status NOT IN ('cancelled', 'no_show'))
);
CREATE INDEX appointments_clinic_starts_idx ON appointments (clinic_id, starts_at, id);
CREATE INDEX appointments_patient_starts_idx ON appointments (patient_id, starts_at, id);
CREATE INDEX appointments_physiotherapist_starts_idx
    ON appointments (physiotherapist_id, starts_at, id);

CREATE TABLE prontuarios (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    patient_id uuid NOT NULL,
    author_id uuid NOT NULL,
    appointment_id uuid,
    kind text NOT NULL CHECK (kind IN ('evaluation', 'evolution', 'discharge')),
    anamnesis text,
    physical_exam text,
    diagnosis text,
    prognosis text,
    treatment_plan text,
    expected_sessions integer CHECK (expected_sessions > 0),
    evolution text,
    vital_signs jsonb,
    author_name text NOT NULL,
    author_crefito text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, id),
    -- COFFITO 414/2012: an evaluation records the anamnesis; evolutions and discharges say
    -- what happened (the API asks for the rest of an evaluation too).
    CONSTRAINT prontuarios_content_check CHECK (
        CASE kind WHEN 'evaluation' THEN anamnesis IS NOT NULL ELSE evolution IS NOT NULL END),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
    FOREIGN KEY (clinic_id, author_id) REFERENCES physiotherapists (clinic_id, id),
    FOREIGN KEY (clinic_id, appointment_id) REFERENCES appointments (clinic_id, id)
);
CREATE INDEX prontuarios_patient_created_idx ON prontuarios (patient_id, created_at, id);
-- One record per session; a correction is an addendum, not a second record.
CREATE UNIQUE INDEX prontuarios_appointment_key ON prontuarios (appointment_id)
    WHERE appointment_id IS NOT NULL;

CREATE TABLE prontuario_addenda (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    prontuario_id uuid NOT NULL,
    author_id uuid NOT NULL,
    text text NOT NULL CHECK (length(trim(text)) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (clinic_id, prontuario_id) REFERENCES prontuarios (clinic_id, id),
    FOREIGN KEY (clinic_id, author_id) REFERENCES physiotherapists (clinic_id, id)
);
CREATE INDEX prontuario_addenda_prontuario_idx
    ON prontuario_addenda (prontuario_id, created_at, id);

-- clinic_id NULL = the shared library, readable by every clinic, changed only by migrations.
CREATE TABLE exercises (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid REFERENCES clinics(id),
    name text NOT NULL CHECK (length(trim(name)) > 0),
    description text,
    category text NOT NULL,
    difficulty text NOT NULL CHECK (difficulty IN ('easy', 'medium', 'hard')),
    duration_seconds integer CHECK (duration_seconds > 0),
    instructions text[] NOT NULL DEFAULT '{}',
    video_url text,
    image_url text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exercises_clinic_category_idx ON exercises (clinic_id, category, name, id);
-- Accent- and case-insensitive substring search ("equilibrio" finds "Equilíbrio") over name,
-- category and description; resolvers/exercises/search.py writes the same expression.
CREATE INDEX exercises_search_idx ON exercises USING gin (
    immutable_unaccent(lower(name || ' ' || category || ' ' || coalesce(description, '')))
    gin_trgm_ops);

CREATE TABLE exercise_prescriptions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    patient_id uuid NOT NULL,
    exercise_id uuid NOT NULL REFERENCES exercises(id),
    physiotherapist_id uuid NOT NULL,
    sets integer NOT NULL CHECK (sets > 0),
    repetitions integer CHECK (repetitions > 0),
    duration_seconds integer CHECK (duration_seconds > 0),
    frequency_per_week integer NOT NULL CHECK (frequency_per_week BETWEEN 1 AND 21),
    notes text,
    status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'paused', 'completed', 'cancelled')),
    starts_on date NOT NULL,
    ends_on date CHECK (ends_on >= starts_on),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, id),
    CHECK (repetitions IS NOT NULL OR duration_seconds IS NOT NULL),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
    FOREIGN KEY (clinic_id, physiotherapist_id) REFERENCES physiotherapists (clinic_id, id)
);
CREATE INDEX exercise_prescriptions_patient_idx
    ON exercise_prescriptions (patient_id, created_at, id);

CREATE TABLE exercise_executions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    prescription_id uuid NOT NULL,
    patient_id uuid NOT NULL,
    executed_at timestamptz NOT NULL DEFAULT now(),
    sets_done integer NOT NULL CHECK (sets_done >= 0),
    repetitions_done integer CHECK (repetitions_done >= 0),
    duration_seconds integer CHECK (duration_seconds >= 0),
    pain_level integer CHECK (pain_level BETWEEN 0 AND 10),
    patient_notes text,
    sensor_data jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (clinic_id, prescription_id) REFERENCES exercise_prescriptions (clinic_id, id),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);
CREATE INDEX exercise_executions_prescription_idx
    ON exercise_executions (prescription_id, executed_at, id);
CREATE INDEX exercise_executions_patient_idx ON exercise_executions (patient_id, executed_at);

CREATE TABLE payments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    patient_id uuid NOT NULL,
    appointment_id uuid,
    amount numeric(12, 2) NOT NULL CHECK (amount > 0),
    method text NOT NULL
        CHECK (method IN ('pix', 'credit_card', 'debit_card', 'boleto', 'cash', 'insurance')),
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'paid', 'refunded', 'cancelled')),
    due_date date,
    paid_at timestamptz,
    refunded_at timestamptz,
    cancelled_at timestamptz,
    status_reason text,
    gateway_transaction_id text,
    notes text,
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    request_fingerprint text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_idempotency_key UNIQUE (clinic_id, idempotency_key),
    CHECK ((status IN ('paid', 'refunded')) = (paid_at IS NOT NULL)),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
    FOREIGN KEY (clinic_id, appointment_id) REFERENCES appointments (clinic_id, id)
);
CREATE INDEX payments_clinic_created_idx ON payments (clinic_id, created_at, id);
CREATE INDEX payments_patient_created_idx ON payments (patient_id, created_at, id);
CREATE INDEX payments_appointment_idx ON payments (appointment_id)
    WHERE appointment_id IS NOT NULL;

CREATE TABLE consents (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    patient_id uuid NOT NULL,
    purpose text NOT NULL CHECK (length(trim(purpose)) > 0),
    legal_basis text NOT NULL CHECK (length(trim(legal_basis)) > 0),
    policy_version text NOT NULL,
    granted boolean NOT NULL DEFAULT true,
    granted_at timestamptz DEFAULT now(),
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (granted = (revoked_at IS NULL)),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);
CREATE INDEX consents_patient_idx ON consents (patient_id, created_at, id);

CREATE TABLE data_subject_requests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    patient_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('access', 'correction', 'anonymization', 'portability',
                                       'deletion', 'sharing_information')),
    details text,
    requested_at timestamptz NOT NULL DEFAULT now(),
    due_at timestamptz NOT NULL DEFAULT now() + interval '15 days',
    fulfilled_at timestamptz,
    response text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);
CREATE INDEX data_subject_requests_due_idx ON data_subject_requests (clinic_id, due_at)
    WHERE fulfilled_at IS NULL;

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    table_name text NOT NULL,
    operation text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'SELECT')),
    record_id uuid,
    actor_id uuid,
    actor_role text,
    at timestamptz NOT NULL DEFAULT now(),
    old_data jsonb,
    new_data jsonb
);
CREATE INDEX audit_log_clinic_at_idx ON audit_log (clinic_id, at, id);
CREATE INDEX audit_log_record_idx ON audit_log (record_id, at);

CREATE TABLE compliance_checks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    framework text NOT NULL CHECK (framework IN ('lgpd', 'cfm', 'anvisa', 'wcag')),
    check_type text NOT NULL,
    state text NOT NULL CHECK (state IN ('compliant', 'non_compliant', 'pending')),
    severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    score integer NOT NULL CHECK (score BETWEEN 0 AND 100),
    last_checked timestamptz NOT NULL DEFAULT now(),
    next_check timestamptz NOT NULL,
    issues_found integer NOT NULL DEFAULT 0 CHECK (issues_found >= 0),
    description text NOT NULL,
    recommendations text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, id)
);
CREATE INDEX compliance_checks_clinic_idx ON compliance_checks (clinic_id, last_checked DESC);

CREATE TABLE compliance_issues (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    check_id uuid,
    framework text NOT NULL CHECK (framework IN ('lgpd', 'cfm', 'anvisa', 'wcag')),
    requirement text NOT NULL,
    description text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    resolved boolean NOT NULL DEFAULT false,
    resolution text,
    created_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    CHECK (resolved = (resolved_at IS NOT NULL)),
    FOREIGN KEY (clinic_id, check_id) REFERENCES compliance_checks (clinic_id, id)
);
CREATE INDEX compliance_issues_open_idx ON compliance_issues (clinic_id, created_at)
    WHERE NOT resolved;

RESET ROLE;
"""

DROP_TABLES = """
DROP TABLE IF EXISTS compliance_issues, compliance_checks, audit_log, data_subject_requests,
    consents, payments, exercise_executions, exercise_prescriptions, exercises,
    prontuario_addenda, prontuarios, appointments, users, patients, physiotherapists, clinics;
DROP FUNCTION IF EXISTS immutable_unaccent(text);
"""


def upgrade() -> None:
    run_script(ROLES)
    run_script(TABLES)


def downgrade() -> None:
    run_script(DROP_TABLES)
