"""The admin panel: statistics (`stats.py`) and changes to a user's quota (`quotas.py`),
every change recorded in the audit log."""
