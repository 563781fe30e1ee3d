"""Queue consumers of the worker: removal jobs and webhook deliveries."""
