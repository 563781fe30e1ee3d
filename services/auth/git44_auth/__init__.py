"""git44_auth."""
