"""Rate limits: request counters shared by every jobs-api replica (per API key today)."""
