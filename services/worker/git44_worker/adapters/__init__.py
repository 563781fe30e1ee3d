"""Clients of the outside services the worker calls."""
