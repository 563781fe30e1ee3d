"""Pure rules of the pipeline (no I/O): poll policy, retry backoff."""
