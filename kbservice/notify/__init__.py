"""Webhooks: subscriptions, the transactional outbox of deliveries, and delivery workers."""
