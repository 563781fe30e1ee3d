"""Webhooks: each user's signing secret (`webhook_secrets`); the worker signs and
delivers (git44_worker.webhooks)."""
