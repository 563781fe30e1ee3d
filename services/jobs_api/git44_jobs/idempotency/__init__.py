"""`Idempotency-Key`: a repeated request answers like the first, charged once."""
