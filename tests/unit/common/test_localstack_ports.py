"""The free ports the test stacks take: a stack picks all its ports before its services
bind them, so one port must never be handed out twice."""

from localstack import free_port


def test_a_port_is_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)
