"""limited → cooldown → recovery, audited and published, with one or two replicas."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aio_pika.abc import AbstractQueue, AbstractRobustConnection

from git44_common.amqp import KEY_EVENTS, Topology
from git44_common.clock import utc_now
from git44_common.collections import AUDIT_LOG, SCRAPER_KEYS
from git44_common.collections import KEY_EVENTS as KEY_EVENTS_COLLECTION
from git44_common.contracts import KeyLease, KeyStatus, ReleaseOutcome
from git44_common.mongo import Database
from git44_keys.metrics import KEYS_BY_STATE
from tests.integration.keys.conftest import KeyManagerClient, StartKeyManager, eventually

pytestmark = pytest.mark.integration
EVENT_KINDS = ("limited", "cooldown")


@pytest.fixture
async def key_events_queue(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[AbstractQueue]:
    """A queue bound to `key.*` on the events exchange, like a subscriber would have."""
    channel = await amqp_connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(topology.events_exchange, KEY_EVENTS)
    yield queue
    await channel.close()


async def drain(queue: AbstractQueue) -> list[dict[str, object]]:
    bodies = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        bodies.append(json.loads(message.body))
    return bodies


async def statuses(db: Database) -> Counter[str]:
    return Counter([key["status"] async for key in db[SCRAPER_KEYS].find()])


async def limit_every_key(client: KeyManagerClient) -> None:
    """A lease on each key, each released as refused (with two replicas, each picks
    from its own share: sequential leases may land on one key twice)."""
    by_key: dict[str, KeyLease] = {}
    extra: list[KeyLease] = []
    while len(by_key) < 3:
        assert len(extra) < 12, "the leases never covered every key"
        lease = await client.lease()
        if lease.key_id in by_key:
            extra.append(lease)
        else:
            by_key[lease.key_id] = lease
    for lease in by_key.values():
        await client.release(lease, ReleaseOutcome.LIMITED, 403)
    for lease in extra:
        await client.release(lease)


async def events_by_kind(db: Database) -> Counter[tuple[str, str]]:
    docs = await db[KEY_EVENTS_COLLECTION].find().to_list()
    return Counter((doc["key_id"], doc["event"]) for doc in docs)


async def test_all_keys_limited_puts_the_pool_in_cooldown(
    start_key_manager: StartKeyManager,
    client: KeyManagerClient,
    key_events_queue: AbstractQueue,
) -> None:
    context = await start_key_manager(cooldown_seconds=600)
    db = context.db
    before = utc_now()
    await limit_every_key(client)
    await eventually(lambda: _all_in(db, KeyStatus.COOLDOWN))
    keys = await db[SCRAPER_KEYS].find().to_list()
    until = {key["cooldown_until"] for key in keys}
    assert all(key["limited_at"] is not None for key in keys)
    assert all(
        before + timedelta(seconds=590) < u < utc_now() + timedelta(seconds=601) for u in until
    )
    answer = await client.acquire()
    assert answer.outcome == "cooldown"
    assert answer.cooldown_until is not None
    assert abs((answer.cooldown_until - min(until)).total_seconds()) < 0.01

    async def every_event_written() -> bool:
        # a transition's audit entry is written (and published) just after its status
        events = await events_by_kind(db)
        return all(events[(key["_id"], kind)] == 1 for key in keys for kind in EVENT_KINDS)

    await eventually(every_event_written)
    audit = await db[KEY_EVENTS_COLLECTION].find_one({"event": "cooldown"})
    assert audit is not None
    assert (audit["from"], audit["to"]) == ("limited", "cooldown")
    assert audit["cooldown_until"] is not None
    published: list[dict[str, object]] = []

    async def every_event_published() -> bool:
        published.extend(await drain(key_events_queue))
        return len(published) >= 6

    await eventually(every_event_published)
    kinds = Counter(str(body["event"]) for body in published)
    assert kinds["limited"] == 3
    assert kinds["cooldown"] == 3
    assert KEYS_BY_STATE.labels("cooldown")._value.get() == 3


async def test_the_pool_recovers_when_the_cooldown_ends(
    start_key_manager: StartKeyManager, client: KeyManagerClient
) -> None:
    context = await start_key_manager(cooldown_seconds=1.0)
    db = context.db
    await limit_every_key(client)
    await eventually(lambda: _all_in(db, KeyStatus.COOLDOWN))
    await eventually(lambda: _all_in(db, KeyStatus.ACTIVE), within=5)
    for key in await db[SCRAPER_KEYS].find().to_list():
        assert key["limited_at"] is None
        assert key["cooldown_until"] is None
    assert await context.pool.in_flight_by_key() == {}
    assert (await client.acquire()).outcome == "lease"
    events = Counter(doc["event"] for doc in await db[KEY_EVENTS_COLLECTION].find().to_list())
    assert events["recovered"] == 3


async def test_acquire_ends_an_expired_cooldown_itself(
    start_key_manager: StartKeyManager, client: KeyManagerClient
) -> None:
    # Maintenance effectively off: only the acquire can end the cooldown.
    context = await start_key_manager(cooldown_seconds=0.5, maintenance_interval_seconds=3600)
    await limit_every_key(client)
    await eventually(lambda: _all_in(context.db, KeyStatus.COOLDOWN))
    keys = await context.db[SCRAPER_KEYS].find().to_list()
    ends = max(key["cooldown_until"] for key in keys)
    await asyncio.sleep(max(0.0, (ends - utc_now()).total_seconds()) + 0.1)

    async def leased() -> bool:
        # "busy" while the replica still applies the releases (it leases a key it is
        # limiting no more until its events are out): slow under a loaded machine
        return (await client.acquire()).outcome == "lease"

    await eventually(leased, within=5)
    assert (await statuses(context.db))[KeyStatus.ACTIVE.value] == 3


async def test_two_replicas_make_each_transition_exactly_once(
    start_key_manager: StartKeyManager, client: KeyManagerClient
) -> None:
    first = await start_key_manager(cooldown_seconds=1.0, maintenance_interval_seconds=0.05)
    await start_key_manager(cooldown_seconds=1.0, maintenance_interval_seconds=0.05)
    db = first.db
    assert await db[SCRAPER_KEYS].count_documents({}) == 3  # seeded once between them
    await limit_every_key(client)
    await eventually(lambda: _all_in(db, KeyStatus.COOLDOWN))
    await eventually(lambda: _all_in(db, KeyStatus.ACTIVE), within=5)
    expected = {"added": 3, "limited": 3, "cooldown": 3, "recovered": 3}

    async def every_event_written() -> bool:
        # a transition's audit entry is written just after its compare-and-set
        events = await events_by_kind(db)
        return Counter(event for (_key, event) in events.elements()) == expected

    await eventually(every_event_written, within=5)
    await asyncio.sleep(0.3)  # more maintenance rounds on both replicas: nothing doubles
    events = await events_by_kind(db)
    assert Counter(event for (_key, event) in events.elements()) == expected
    assert set(events.values()) == {1}


async def test_two_replicas_share_the_concurrency_limit(
    start_key_manager: StartKeyManager, client: KeyManagerClient
) -> None:
    settings = {"default_max_concurrency": 2, "acquire_wait_seconds": 0.3}
    first = await start_key_manager(**settings)
    await start_key_manager(**settings)
    results = await asyncio.gather(*(client.acquire(worker_id=f"w{i}") for i in range(50)))
    granted = [r.lease for r in results if r.lease is not None]
    assert len(granted) == 6
    assert len({lease.lease_id for lease in granted}) == 6
    assert set(Counter(lease.key_id for lease in granted).values()) == {2}
    assert len({lease.replica_id for lease in granted}) == 2  # each served its share
    await first.pool.heartbeat()  # read the other replica's latest report
    await asyncio.sleep(0.3)
    assert sorted((await first.pool.in_flight_by_key()).values()) == [2, 2, 2]


async def _all_in(db: Database, status: KeyStatus) -> bool:
    return (await statuses(db))[status.value] == 3


async def test_an_invalid_key_is_disabled_once_audited_and_never_comes_back(
    start_key_manager: StartKeyManager, client: KeyManagerClient, key_events_queue: AbstractQueue
) -> None:
    """A 401 (ScraperAPI does not know the key): disabled, not cycled through cooldown."""
    context = await start_key_manager(cooldown_seconds=0.5)
    db = context.db
    lease = await client.lease()
    await client.release(lease, ReleaseOutcome.LIMITED, 401)

    async def disabled() -> bool:
        key = await db[SCRAPER_KEYS].find_one({"_id": lease.key_id})
        return key is not None and key["status"] == KeyStatus.DISABLED.value

    await eventually(disabled)
    # the other keys run out: the pool cools down and recovers without it
    await limit_every_key_but(client, lease.key_id)
    await asyncio.sleep(1.5)
    assert (await db[SCRAPER_KEYS].find_one({"_id": lease.key_id}))["status"] == "disabled"
    for _ in range(8):
        answer = await client.acquire()
        assert answer.lease is None or answer.lease.key_id != lease.key_id
        if answer.lease is not None:
            await client.release(answer.lease)
    events = await events_by_kind(db)
    assert events[(lease.key_id, "disabled")] == 1
    audit = await db[AUDIT_LOG].find_one({"action": "scraper_key.disable", "target": lease.key_id})
    assert audit is not None
    assert (audit["actor"], audit["after"]["status"]) == ("key-manager", "disabled")
    published = [body["event"] for body in await drain(key_events_queue)]
    assert published.count("disabled") == 1


async def limit_every_key_but(client: KeyManagerClient, spared: str) -> None:
    seen: set[str] = set()
    for _ in range(12):
        lease = await client.lease()
        if lease.key_id in seen or lease.key_id == spared:
            await client.release(lease)
            continue
        seen.add(lease.key_id)
        await client.release(lease, ReleaseOutcome.LIMITED, 403)
        if len(seen) == 2:
            return


async def test_a_429_backs_the_key_off_without_a_state_change(
    start_key_manager: StartKeyManager, client: KeyManagerClient
) -> None:
    context = await start_key_manager(backoff_seconds=1.0)
    db = context.db
    lease = await client.lease()
    await client.release(lease, ReleaseOutcome.LIMITED, 429)
    await asyncio.sleep(0.3)  # the release is a message
    others = []
    for _ in range(6):
        other = await client.lease()
        others.append(other.key_id)
        await client.release(other)
    assert lease.key_id not in others  # backed off
    assert (await statuses(db)) == Counter({"active": 3})
    await asyncio.sleep(1.0)
    leased_again = set()
    for _ in range(6):
        again = await client.lease()
        leased_again.add(again.key_id)
        await client.release(again)
    assert lease.key_id in leased_again
    changes = {"key_id": lease.key_id, "event": {"$in": ["limited", "cooldown", "disabled"]}}
    assert await db[KEY_EVENTS_COLLECTION].count_documents(changes) == 0
