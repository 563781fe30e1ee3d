"""git44_jobs."""
