"""`createWebhook` (the secret made here and shown once), `disableWebhook`,
`redeliverWebhook`: admins only."""

import secrets

import strawberry

from graph.api.context import Info
from graph.core.errors import INVALID_STATE, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from graph.integrations.webhook_events import WebhookEvent
from graph.integrations.webhook_urls import UnsafeUrl, resolve
from graph.sql.webhooks import CREATE_WEBHOOK, DELIVERY, DISABLE_WEBHOOK, REDELIVER
from resolvers.webhooks.types import CreateWebhookPayload, Webhook, WebhookDelivery

MAX_DESCRIPTION = 500


@strawberry.input
class CreateWebhookInput:
    url: str = strawberry.field(description="http or https; in production a public address only.")
    events: list[WebhookEvent]
    description: str | None = None


async def create_webhook(info: Info, input: CreateWebhookInput) -> CreateWebhookPayload:
    identity = info.context.require_role(Role.ADMIN)
    url = input.url.strip()
    try:
        await resolve(url, info.context.settings.webhook_private_urls())
    except UnsafeUrl as refused:
        raise bad_input("url", str(refused)) from None
    if not input.events:
        raise bad_input("events", "Choose at least one event")
    description = (input.description or "").strip() or None
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise bad_input("description", f"At most {MAX_DESCRIPTION} characters")
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = await info.context.db.fetch_one(
        CREATE_WEBHOOK,
        {
            "clinic": str(identity.clinic_id),
            "url": url,
            "events": sorted({event.value for event in input.events}),
            "description": description,
            "secret": secret,
        },
    )
    assert row is not None, "INSERT ... RETURNING returns the row"
    return CreateWebhookPayload(webhook=Webhook.of(row), secret=secret)


@strawberry.input
class DisableWebhookInput:
    id: strawberry.ID


@strawberry.input
class RedeliverWebhookInput:
    delivery_id: strawberry.ID


async def disable_webhook(info: Info, input: DisableWebhookInput) -> Webhook:
    """Its pending deliveries stay pending and are not sent; nothing new is made for it."""
    info.context.require_role(Role.ADMIN)
    webhook = parse_uuid_id(input.id, "Webhook")
    row = await info.context.db.fetch_one(DISABLE_WEBHOOK, {"id": webhook})
    if row is None:
        raise not_found("Webhook", "id")
    return Webhook.of(row)


async def redeliver_webhook(info: Info, input: RedeliverWebhookInput) -> WebhookDelivery:
    """The same event again, as a new delivery due now (a dead one stays dead)."""
    info.context.require_role(Role.ADMIN)
    delivery = parse_uuid_id(input.delivery_id, "WebhookDelivery", field="deliveryId")
    db = info.context.db
    found = await db.fetch_one(DELIVERY, {"id": delivery})
    if found is None:
        raise not_found("WebhookDelivery", "deliveryId")
    if not found["enabled"]:
        raise ApiError(INVALID_STATE, "The webhook is disabled", field="deliveryId")
    row = await db.fetch_one(REDELIVER, {"id": delivery})
    assert row is not None, "the delivery was just read"
    return WebhookDelivery.of(row, [])


@strawberry.type
class WebhookMutations:
    create_webhook: CreateWebhookPayload = strawberry.field(resolver=create_webhook)
    disable_webhook: Webhook = strawberry.field(resolver=disable_webhook)
    redeliver_webhook: WebhookDelivery = strawberry.field(resolver=redeliver_webhook)
