"""Every MongoDB query of key-manager: keys, leases, events and the audit log."""
