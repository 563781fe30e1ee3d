"""Submitting a removal: check the links, charge a credit and insert the job in one
(group-committed) transaction, then publish (`service.py`, `group_commit.py`)."""
