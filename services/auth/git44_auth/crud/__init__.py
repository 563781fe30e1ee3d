"""Every MongoDB query auth makes; functions return values or None, never HTTP errors."""
