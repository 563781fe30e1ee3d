"""Auth's mail: account notices sent over SMTP, never inside a request.

    route ─► accounts ─► MailOutbox.send ─► mail_outbox (MongoDB) ─► git44.mail (RabbitMQ)
                                              └─ relay.py publishes what the broker missed
    git44.mail ─► MailConsumer ─► SmtpSender (aiosmtplib) ─► the SMTP server
                   ├─ refused for good (5xx) or out of tries ─► git44.mail.dead
                   └─ down, slow or "try later" (4xx) ─► git44.mail.delay.<n>s ─► again

`messages.py` composes a mail of a `MailKind` from `templates/`; `server.py` reads
`AUTH_SMTP_URL`; `retry.py` holds the retry timing (no I/O); `delivery.py` starts the
consumer and the relay in auth's lifespan; `dead_letters.py` replays `git44.mail.dead`
(`python -m git44_auth replay-dead-mail`). docs/auth.md "Mail".
"""
