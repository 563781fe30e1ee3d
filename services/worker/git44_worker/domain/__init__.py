"""Pure rules of a job run (no I/O): poll policy, retry backoff."""
