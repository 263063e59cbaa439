"""The indexes the migrations create that serve any row of their table — plain btree, not
partial, on columns — by table: the columns of each, in order. The cost limit
(graph/security/limits.py) reads from them which columns a list may filter and order by
cheaply; tests/models/test_indexes.py holds this list equal to the migrated database's.

A column is *indexed* when an index starts with it, or with `clinic_id` and then it: every
read is confined to the caller's clinic (RLS), so `(clinic_id, starts_at, id)` serves
`starts_at`.
"""

from collections.abc import Mapping
from functools import cache

INDEXES: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "appointment_series": (
        ("clinic_id", "id"),
        ("id",),
    ),
    "appointment_status_changes": (
        ("appointment_id", "changed_at", "id"),
        ("id",),
    ),
    "appointments": (
        ("clinic_id", "id"),
        ("clinic_id", "starts_at", "id"),
        ("id",),
        ("patient_id", "starts_at", "id"),
        ("physiotherapist_id", "starts_at", "id"),
    ),
    "audit_log": (
        ("clinic_id", "actor_id", "at", "id"),
        ("clinic_id", "at", "id"),
        ("id",),
        ("record_id", "at"),
    ),
    "clinics": (("id",),),
    "compliance_checks": (
        ("clinic_id", "id"),
        ("clinic_id", "last_checked"),
        ("id",),
    ),
    "compliance_issues": (("id",),),
    "consents": (
        ("id",),
        ("patient_id", "created_at", "id"),
    ),
    "data_subject_requests": (("id",),),
    "exercise_executions": (
        ("id",),
        ("patient_id", "executed_at"),
        ("prescription_id", "executed_at", "id"),
    ),
    "exercise_prescriptions": (
        ("clinic_id", "id"),
        ("id",),
        ("patient_id", "created_at", "id"),
    ),
    "exercises": (
        ("clinic_id", "category", "name", "id"),
        ("id",),
    ),
    "patients": (
        ("clinic_id", "birth_date", "id"),
        ("clinic_id", "cpf"),
        ("clinic_id", "created_at", "id"),
        ("clinic_id", "id"),
        ("clinic_id", "name", "id"),
        ("id",),
        ("physiotherapist_id", "name", "id"),
    ),
    "payments": (
        ("clinic_id", "created_at", "id"),
        ("clinic_id", "due_date", "id"),
        ("clinic_id", "idempotency_key"),
        ("clinic_id", "status", "paid_at", "method", "amount", "patient_id"),  # INCLUDE: 3 last
        ("id",),
        ("patient_id", "created_at", "id"),
    ),
    "physiotherapists": (
        ("clinic_id", "crefito"),
        ("clinic_id", "id"),
        ("clinic_id", "name", "id"),
        ("id",),
    ),
    "prontuario_addenda": (
        ("id",),
        ("prontuario_id", "created_at", "id"),
    ),
    "prontuarios": (
        ("clinic_id",),
        ("clinic_id", "id"),
        ("id",),
        ("patient_id", "created_at", "id"),
    ),
    "vital_signs": (
        ("clinic_id", "id"),
        ("clinic_id", "recorded_at", "id"),
        ("id",),
        ("patient_id", "recorded_at", "id"),
    ),
    "users": (
        ("clinic_id", "email"),
        ("external_subject",),
        ("id",),
    ),
}


@cache
def indexed_columns(table: str) -> frozenset[str]:
    """The columns of `table` an index serves (see above)."""
    columns: set[str] = set()
    for index in INDEXES.get(table, ()):
        columns.add(index[0])
        if index[0] == "clinic_id" and len(index) > 1:
            columns.add(index[1])
    return frozenset(columns)
