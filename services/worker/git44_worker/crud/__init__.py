"""Every MongoDB query of the worker: jobs (crud.jobs) and webhooks (crud.webhooks)."""
