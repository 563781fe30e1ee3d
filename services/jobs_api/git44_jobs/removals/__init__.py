"""Removal jobs: reading a user's jobs, retrying and cancelling them (`service.py`);
the only code that touches `removal_jobs` (`crud.py`)."""
