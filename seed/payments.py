"""The payments of the appointments: charges, statuses, gateway ids."""

import uuid
from datetime import timedelta
from decimal import Decimal

from seed.reference import METHODS
from seed.stream import Appt, ClinicStream
from seed.tables import Batch, Row


class PaymentRows(ClinicStream):
    """The payment of each charged appointment."""

    def payments(self, out: Batch, patient_id: uuid.UUID, appts: list[Appt]) -> None:
        rng = self.rng
        method = "insurance" if rng.random() < 0.12 else rng.choice(METHODS)
        for n, a in enumerate(appts):
            charge = self.charge(a)
            if charge is None:
                continue
            amount, status, note = charge
            out["payments"].append(self.payment_row(patient_id, a, n, amount, method, status, note))

    def charge(self, a: Appt) -> tuple[Decimal, str, str | None] | None:
        """amount, status, notes of the payment for an appointment (None: no payment)."""
        roll = self.rng.random()
        if a.status == "completed":
            status = "paid" if roll < 0.86 else "pending" if roll < 0.96 else "cancelled"
            if status == "paid" and self.rng.random() < 0.015:
                status = "refunded"
            return a.price, status, None
        if a.status == "no_show":
            if roll >= 0.5:
                return None
            fee = (a.price / 2).quantize(Decimal("0.01"))
            return fee, "paid" if roll < 0.3 else "pending", "Taxa de não comparecimento"
        if a.status == "cancelled":
            return (
                (a.price, "refunded" if roll < 0.1 else "cancelled", None) if roll < 0.25 else None
            )
        if roll < 0.35:  # future appointment charged in advance
            return a.price, "paid" if roll < 0.08 else "pending", "Pagamento antecipado"
        return None

    def payment_row(
        self,
        patient_id: uuid.UUID,
        a: Appt,
        n: int,
        amount: Decimal,
        method: str,
        status: str,
        notes: str | None,
    ) -> Row:
        now = self.cal.now
        created = a.created_at if a.starts_at >= now else min(a.ends_at, now)
        due = (a.starts_at + timedelta(days=10)).date()
        paid = refunded = cancelled = None
        gateway = reason = None
        if status in ("paid", "refunded"):
            paid = min(created + timedelta(hours=self.between(0, 72)), now)
            gateway = self.gateway_id(method)
        if status == "refunded":
            refunded = min(paid + timedelta(days=self.between(1, 10)), now) if paid else None
            reason = "Estorno solicitado pelo paciente"
        if status == "cancelled":
            cancelled = min(created + timedelta(days=self.between(0, 5)), now)
            reason = "Atendimento cancelado" if a.status == "cancelled" else "Cortesia"
        payment_id = self.new_id()
        updated = refunded or cancelled or paid or created
        return (payment_id, self.cid, patient_id, a.id, amount, method, status, due, paid,
                refunded, cancelled, reason, gateway, notes, f"seed-{payment_id.hex}",
                f"seed:{patient_id.hex[:8]}:{n}", created, updated)  # fmt: skip

    def gateway_id(self, method: str) -> str | None:
        bits = self.rng.getrandbits(64)
        if method == "pix":
            return f"E{bits:020d}"[:21]
        if method in ("credit_card", "debit_card"):
            return f"ch_{bits:016x}"
        if method == "boleto":
            return f"bol_{bits:016x}"
        if method == "insurance":
            return f"guia-{bits % 10**9:09d}"
        return None
