"""git44ctl's command groups, one module each: users, quota, keys, jobs, dlq, audit."""
