"""Indexes for the orders, filters and aggregates of issue 14 that clients actually ask for.

Revision ID: 0011_list_indexes
Revises: 0010_encrypted_cursors
Create Date: 2026-11-28

Every request runs under RLS, whose restrictive policy adds `clinic_id = app_clinic_id()` to
every read, so each index starts with `clinic_id`: the equality on it, then the order or
range. The compiled SQL binds its values as parameters of a prepared statement (generic
plans), so no index is partial on a value a client chooses. Measured at the 10x benchmark
data set (`bench/explain.py`, plans in bench/explain/, docs/operations.md "Indexes"):

- `payments (clinic_id, status, paid_at) INCLUDE (method, amount, patient_id)`: revenue —
  paid payments in a period, grouped by month and method (`paymentsAggregate(where: {status,
  paidAt})`) — read from the index alone (RLS's patient policy reads `patient_id`) instead of
  every payment of the clinic.
- `payments (clinic_id, due_date, id)`: `orderBy: [DUE_DATE_ASC]` and `dueDate` ranges (what
  is due this week).
- `patients (clinic_id, birth_date, id)` and `patients (clinic_id, created_at, id)`:
  `orderBy: [BIRTH_DATE_*]` / `[CREATED_AT_*]` (newest patients first), birthdays and age
  ranges; a page reads its rows, not the whole clinic and a sort.

Already there (0001): the agenda's `appointments (physiotherapist_id, starts_at, id)`, the
clinic's calendar `appointments (clinic_id, starts_at, id)`, `patients (clinic_id, name, id)`
and `payments (clinic_id, created_at, id)`.
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0011_list_indexes"
down_revision: str | None = "0010_encrypted_cursors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name -> table and key, as CREATE INDEX writes them
INDEXES = {
    "payments_clinic_status_paid_idx": "payments (clinic_id, status, paid_at)"
    " INCLUDE (method, amount, patient_id)",
    "payments_clinic_due_idx": "payments (clinic_id, due_date, id)",
    "patients_clinic_birth_date_idx": "patients (clinic_id, birth_date, id)",
    "patients_clinic_created_idx": "patients (clinic_id, created_at, id)",
}


def upgrade() -> None:
    statements = (f"CREATE INDEX {name} ON {key};" for name, key in INDEXES.items())
    run_script("SET LOCAL ROLE fisioflow_owner;\n" + "\n".join(statements) + "\nRESET ROLE;\n")


def downgrade() -> None:
    statements = (f"DROP INDEX IF EXISTS {name};" for name in INDEXES)
    run_script("SET LOCAL ROLE fisioflow_owner;\n" + "\n".join(statements) + "\nRESET ROLE;\n")
