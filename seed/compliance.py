"""LGPD consents and data-subject requests; the clinic's compliance checks and issues."""

import uuid
from datetime import datetime, timedelta

from seed.reference import COMPLIANCE_CHECKS, COMPLIANCE_ISSUES, CONSENTS, DSR_DETAILS, DSR_KINDS
from seed.stream import ClinicStream
from seed.tables import Batch, empty_batch


class ComplianceRows(ClinicStream):
    """Consents and requests per patient; checks and issues per clinic."""

    def consents(self, out: Batch, patient_id: uuid.UUID, created: datetime) -> None:
        rng = self.rng
        for purpose, basis, share in CONSENTS:
            if rng.random() >= share:
                continue
            revoked = None
            if share < 1.0 and rng.random() < 0.1:
                revoked = min(created + timedelta(days=self.between(10, 200)), self.cal.now)
            out["consents"].append(
                (self.new_id(), self.cid, patient_id, purpose, basis, "2024.1", revoked is None,
                 created, revoked, created, revoked or created)
            )  # fmt: skip

    def data_subject_request(self, out: Batch, patient_id: uuid.UUID) -> None:
        rng, now = self.rng, self.cal.now
        if rng.random() >= 0.005:
            return
        requested = now - timedelta(days=self.between(1, 120), hours=self.between(0, 24))
        due = requested + timedelta(days=15)
        fulfilled = response = None
        if rng.random() < 0.7:
            fulfilled = min(requested + timedelta(days=self.between(1, 14)), now)
            response = "Solicitação atendida; resposta enviada por e-mail ao titular."
        kind = rng.choice(DSR_KINDS)
        out["data_subject_requests"].append(
            (self.new_id(), self.cid, patient_id, kind, DSR_DETAILS, requested, due, fulfilled,
             response, requested, fulfilled or requested)
        )  # fmt: skip

    def compliance_rows(self) -> Batch:
        out = empty_batch()
        rng, now = self.rng, self.cal.now
        check_ids: dict[str, uuid.UUID] = {}
        for framework, check_type, description in COMPLIANCE_CHECKS:
            check_id = self.new_id()
            check_ids.setdefault(framework, check_id)
            score = self.between(55, 101)
            state = "compliant" if score >= 80 else "non_compliant" if score >= 60 else "pending"
            checked = now - timedelta(days=self.between(1, 60))
            severity = "low" if score >= 80 else "medium" if score >= 70 else "high"
            out["compliance_checks"].append(
                (check_id, self.cid, framework, check_type, state, severity, score, checked,
                 checked + timedelta(days=90), 0 if score >= 80 else self.between(1, 5),
                 description, ["Revisar o procedimento com a equipe."] if score < 80 else [],
                 checked)
            )  # fmt: skip
        for framework, requirement, description in COMPLIANCE_ISSUES:
            created = now - timedelta(days=self.between(1, 90))
            resolved = rng.random() < 0.4
            out["compliance_issues"].append(
                (self.new_id(), self.cid, check_ids[framework], framework, requirement,
                 description, rng.choice(("low", "medium", "high", "critical")), resolved,
                 "Corrigido e verificado." if resolved else None, created,
                 created + timedelta(days=3) if resolved else None)
            )  # fmt: skip
        return out
