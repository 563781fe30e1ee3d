"""Errors auth raises on purpose, besides the problem+json ones of git44_common.exceptions.

    Git44Error (git44_common.exceptions)
    └── AuthError
        ├── KeyConfigError (also a ValueError)   the signing key setting cannot be used
        ├── CliError                             `create-admin` refused its input (exit 2)
        └── MailError                            a mail was not sent
            ├── MailRejected                     refused for good (a 5xx): dead-lettered
            └── MailDeferred                     not now (down, slow, a 4xx): tried again

HTTP errors (EmailTaken, InvalidCredentials, RateLimited, ...) are the shared
`ProblemError` classes, so every service answers them with the same codes.
"""

from __future__ import annotations

from git44_common.exceptions import Git44Error


class AuthError(Git44Error):
    """Root of auth's own errors."""


class KeyConfigError(AuthError, ValueError):
    """The configured signing keys cannot be used (the message never contains key material)."""


class CliError(AuthError):
    """A problem reported to the operator as one line, exit status 2."""


class MailError(AuthError):
    """A mail was not sent; the message is the server's reply or the connection error."""


class MailRejected(MailError):
    """The SMTP server refused the mail for good (a 5xx for its recipient or content)."""


class MailDeferred(MailError):
    """The mail could not be sent now (server down or slow, a 4xx); try again later."""
