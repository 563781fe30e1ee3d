"""git44_keys."""
