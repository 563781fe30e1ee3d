"""git44_worker."""
