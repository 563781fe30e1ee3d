"""Errors raised by the AMQP helpers, and the signals handlers raise to steer acks.

AmqpError
├── PublishError ............ the broker did not take a message
│   ├── PublishNacked ....... it answered basic.nack
│   ├── PublishUnroutable ... a mandatory message matched no queue (basic.return)
│   └── PublishTimeout ...... no confirm in time (also a TimeoutError)
├── RpcError ................ an RPC call failed: the server answered an error envelope
│   └── RpcTimeout .......... ... or nobody answered in time (also a TimeoutError)
└── HandlerSignal ........... raised *by* a consumer handler to choose the outcome
    ├── RejectMessage ....... reject without requeue: the message is dead-lettered
    └── RequeueMessage ...... nack with requeue: try again (delivery limit applies)
"""

from __future__ import annotations

from typing import Any


class AmqpError(Exception):
    """Root of every error raised by `git44_common.amqp`."""


class PublishError(AmqpError):
    """The broker did not accept the message; it may not have been delivered."""


class PublishNacked(PublishError):
    """The broker answered basic.nack (or the channel failed mid-publish)."""


class PublishUnroutable(PublishError):
    """A mandatory message was returned: no queue is bound for its routing key."""


class PublishTimeout(PublishError, TimeoutError):
    """No publisher confirm arrived in time; the message may or may not be stored."""


class RpcError(AmqpError):
    """An RPC call failed; the server answered `{"error": {"code", "message"}}`.

    Server handlers raise it themselves to send a specific code to the caller.
    """

    def __init__(self, code: str, message: str, *, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details

    def to_envelope(self) -> dict[str, Any]:
        """The `{"error": {...}}` reply body for this error."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class RpcTimeout(RpcError, TimeoutError):
    """No reply arrived within the call's timeout (the request has expired too)."""

    def __init__(self, method: str, timeout: float) -> None:
        super().__init__("timeout", f"no reply to {method!r} within {timeout:g}s")
        self.method = method
        self.timeout = timeout


class HandlerSignal(AmqpError):
    """Base of the exceptions a consumer handler raises to choose a message's fate."""


class RejectMessage(HandlerSignal):
    """The message can never be handled: reject it without requeue (dead-letter)."""


class RequeueMessage(HandlerSignal):
    """The message could not be handled now: put it back on the queue."""
