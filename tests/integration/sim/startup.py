"""How the test simulator is started (conftest starts it; tests compare against these)."""

KEYS = ("sim-key-1", "sim-key-2")
START_CREDITS = 1000
START_CONCURRENCY = 5
START_PROCESSING_SECONDS = 0.2
