"""The outbox: `removal.requested` and job events published after commit
(`publish.py`), the `published` flags set in the next transaction (`flags.py`), and
the relay that publishes what the request path could not (`relay.py`)."""
