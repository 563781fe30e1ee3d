"""What key-manager consumes from RabbitMQ: the acquire RPC and lease releases."""
