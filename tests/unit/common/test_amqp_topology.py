"""Delay tiers: the largest tier that does not overshoot, names per namespace."""

from __future__ import annotations

import pytest

from git44_common.amqp.topology import (
    REMOVAL_DELAY_TIERS,
    QueueFamily,
    Topology,
    job_event_key,
    key_event_key,
    pick_delay_tier,
)


@pytest.mark.parametrize(
    ("seconds", "tier"),
    [
        (0, 1),
        (0.2, 1),
        (1, 1),
        (4.9, 1),
        (5, 5),
        (29, 5),
        (30, 30),
        (119, 30),
        (600, 600),
        (1799, 600),
        (1800, 1800),
        (86_400, 1800),
    ],
)
def test_pick_delay_tier_takes_the_largest_tier_not_above_the_delay(
    seconds: float, tier: int
) -> None:
    assert pick_delay_tier(REMOVAL_DELAY_TIERS, seconds) == tier


def test_delay_queue_for_names_the_tier_queue_in_the_namespace() -> None:
    topology = Topology(namespace=".t123")
    assert topology.delay_queue_for(QueueFamily.REMOVAL, 45) == ("git44.removal.delay.30s.t123", 30)
    assert topology.delay_queue_for(QueueFamily.WEBHOOKS, 10_000) == (
        "git44.webhooks.delay.7200s.t123",
        7200,
    )


def test_every_delay_tier_has_a_queue_with_that_ttl() -> None:
    topology = Topology()
    queues = {spec.name: spec for spec in topology.queues()}
    for family in QueueFamily:
        for tier in topology.delay_tiers(family):
            spec = queues[topology.delay_queue(family, tier)]
            assert spec.arguments["x-message-ttl"] == tier * 1000
            assert spec.arguments["x-dead-letter-exchange"] == topology.jobs_exchange


def test_work_queues_are_quorum_with_the_delivery_limit() -> None:
    topology = Topology(delivery_limit=7)
    queues = {spec.name: spec for spec in topology.queues()}
    work_queues = (
        topology.removal_queue,
        topology.webhooks_queue,
        topology.mail_queue,
        topology.keys_release_queue,
    )
    for name in work_queues:
        assert queues[name].arguments["x-queue-type"] == "quorum"
        assert queues[name].arguments["x-delivery-limit"] == 7
        assert queues[name].arguments["x-dead-letter-exchange"] == topology.dead_letter_exchange


def test_event_routing_keys() -> None:
    assert job_event_key("success") == "job.success"
    assert key_event_key("limited") == "key.limited"
