"""Webhooks (admins only): `createWebhook`, `webhooks`, `disableWebhook`,
`webhookDeliveries`, `redeliverWebhook`. The worker that delivers them is
graph/integrations/webhooks.py."""
