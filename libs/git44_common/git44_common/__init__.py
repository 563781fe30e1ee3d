"""git44_common."""
