"""Credits: a user's quota (`user_quotas`), charging a credit at submission and retry,
giving it back at cancel (the refund itself is `git44_common.jobs.refund`, shared with
the worker's failure path), and what a refusal answers."""
