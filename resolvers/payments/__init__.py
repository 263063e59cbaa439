"""Payments: lists and filters, idempotent creation, and the pending → paid → refunded /
pending → cancelled state machine, and `paymentChanged`. Amounts are Decimal from the database
to the client."""
