"""Process helpers for tests: the same ones `make run` uses (deploy/local/localstack.py)."""

from localstack import ManagedProcess, free_port, port_open, python_module, wait_for_port

__all__ = ["ManagedProcess", "free_port", "port_open", "python_module", "wait_for_port"]
