"""git44ctl, the operator CLI of Git44: it drives the admin HTTP API of auth, jobs-api and
key-manager (through the gateway, or each service directly) as a logged-in admin."""
