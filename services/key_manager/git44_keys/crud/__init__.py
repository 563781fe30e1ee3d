"""Every MongoDB query of key-manager: keys, leases and key events (one module each)."""
