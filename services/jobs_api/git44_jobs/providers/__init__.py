"""Provider callbacks: a hosted removal service telling us a task ended (issue 16)."""
