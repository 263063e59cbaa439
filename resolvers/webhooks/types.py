"""The webhook, its deliveries and their attempts."""

import enum
import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from graph.core.ids import to_global_id
from graph.integrations.webhook_events import WebhookEvent

strawberry.enum(
    WebhookEvent,
    description="What a webhook subscribes to: each is a change of one kind of record"
    " (docs/api.md, Webhooks).",
)


@strawberry.enum(
    description="pending: to be sent (again); delivered: a 2xx answered; dead:"
    " every attempt failed."
)
class WebhookDeliveryStatus(enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@strawberry.type
class Webhook:
    id: strawberry.ID
    url: str
    events: list[WebhookEvent]
    description: str | None
    enabled: bool
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> "Webhook":
        return cls(
            id=strawberry.ID(to_global_id("Webhook", row["id"])),
            url=row["url"],
            events=[WebhookEvent(event) for event in row["events"]],
            description=row["description"],
            enabled=row["enabled"],
            created_at=row["created_at"],
            disabled_at=row["disabled_at"],
        )


@strawberry.type
class WebhookAttempt:
    attempt: int
    attempted_at: datetime
    response_status: int | None = strawberry.field(
        description="The receiver's HTTP status; null when no response came."
    )
    duration_ms: int
    error: str | None = strawberry.field(
        description="What went wrong (an error class or status, never the response body)."
    )


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    webhook_id: strawberry.ID
    event: WebhookEvent
    payload: JSON = strawberry.field(description="The body sent, exactly (ids only).")
    status: WebhookDeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    redelivery_of: strawberry.ID | None
    attempts: list[WebhookAttempt]

    @classmethod
    def of(cls, row: Any, attempts: list[WebhookAttempt]) -> "WebhookDelivery":
        pending = row["status"] == "pending"
        original: uuid.UUID | None = row["redelivery_of"]
        return cls(
            id=strawberry.ID(to_global_id("WebhookDelivery", row["id"])),
            webhook_id=strawberry.ID(to_global_id("Webhook", row["webhook_id"])),
            event=WebhookEvent(row["event_type"]),
            payload=row["payload"],
            status=WebhookDeliveryStatus(row["status"]),
            attempt_count=row["attempts"],
            next_attempt_at=row["next_attempt_at"] if pending else None,
            created_at=row["created_at"],
            delivered_at=row["delivered_at"],
            redelivery_of=(
                None
                if original is None
                else strawberry.ID(to_global_id("WebhookDelivery", original))
            ),
            attempts=attempts,
        )


@strawberry.type
class CreateWebhookPayload:
    webhook: Webhook
    secret: str = strawberry.field(
        description="Signs every delivery (X-FisioFlow-Signature). Shown once: keep it now."
    )
