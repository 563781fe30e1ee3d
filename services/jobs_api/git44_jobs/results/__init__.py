"""The result cache as jobs-api sees it: answering a submission from it, and purging."""
