"""Live job events for the SPA (SSE): this instance's subscription and its streams
(`hub.py`), and the replay of what a reconnecting client missed (`replay.py`)."""
