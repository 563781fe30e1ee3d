"""The share rules (git44_keys.shares): targets add up to each key's max_concurrency,
and the heartbeat protocol — write the claim, read the others', set the allowance —
never lets the replicas together lease a key past it, whatever the interleaving of
heartbeats, grants, releases, crashes, replicas cut off from the database, joins and
departures (a randomized model of `replicas.py`, run with many seeds)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from git44_keys.shares import (
    CLOCK_SLACK,
    Registration,
    allowances,
    claims,
    live_replicas,
    target_share,
    targets,
)

LIMITS = {"key-a": 5, "key-b": 2, "key-c": 1}
TTL = timedelta(seconds=10)
LEASE = timedelta(seconds=30)
START = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("limit", [1, 2, 5, 9])
def test_targets_add_up_to_max_concurrency(replicas: int, limit: int) -> None:
    ids = [f"r{i}" for i in range(replicas)]
    for key_id in ("k1", "k2", "k3"):
        shares = [
            target_share(key_id=key_id, max_concurrency=limit, replicas=ids, me=me) for me in ids
        ]
        assert sum(shares) == limit
        assert max(shares) - min(shares) <= 1


def test_the_remainder_is_spread_over_the_replicas_key_by_key() -> None:
    ids = ["r0", "r1"]
    keys = [f"key-{n}" for n in range(20)]
    lone_slots = Counter(
        me
        for key_id in keys
        for me in ids
        if target_share(key_id=key_id, max_concurrency=1, replicas=ids, me=me)
    )
    assert set(lone_slots) == {"r0", "r1"}  # neither replica gets every odd slot


def test_a_claim_covers_allowance_leases_and_target() -> None:
    claimed = claims(
        allowance={"a": 3, "b": 1}, in_flight={"b": 4, "c": 1}, wanted={"a": 2, "d": 0}
    )
    assert claimed == {"a": 3, "b": 4, "c": 1}


def test_an_allowance_is_what_the_others_claims_leave() -> None:
    allowed = allowances(
        wanted={"a": 3, "b": 2, "c": 1},
        claimed={"a": 3, "b": 1, "c": 1},
        max_concurrency={"a": 5, "b": 2, "c": 1},
        others=[{"a": 1}, {"a": 2, "c": 1}],
    )
    assert allowed == {"a": 2, "b": 1}  # a: 5 - 3; b: only what was claimed; c: taken


def test_a_gone_replica_counts_until_forget_at_and_gets_no_target() -> None:
    gone = Registration("r9", START, START + LEASE, {"a": 2}, {})
    assert not gone.live(START)
    assert not gone.forgotten(START + LEASE + CLOCK_SLACK)
    assert gone.forgotten(START + LEASE + CLOCK_SLACK + timedelta(seconds=1))
    assert live_replicas([gone], me="r1", now=START) == ["r1"]


# --- the protocol, modelled ---------------------------------------------------------


@dataclass
class Replica:
    replica_id: str
    allowance: dict[str, int] = field(default_factory=dict)
    view: list[str] = field(default_factory=list)
    valid_until: datetime = START - timedelta(days=1)
    pending: dict[str, int] | None = None  # claims written, the read still to come
    leases: list[tuple[str, datetime]] = field(default_factory=list)
    alive: bool = True
    leaving: bool = False
    cut_off: bool = False  # from the database: heartbeats fail

    def in_flight(self) -> dict[str, int]:
        return dict(Counter(key for key, _ in self.leases))

    def registered(self, now: datetime) -> bool:
        if not self.leaving and now < self.valid_until:
            return True
        self.allowance = {}
        return False


@dataclass
class Model:
    rng: random.Random
    now: datetime = START
    store: dict[str, Registration] = field(default_factory=dict)
    replicas: list[Replica] = field(default_factory=list)
    made: int = 0

    def join(self) -> None:
        replica = Replica(f"r{self.made:02d}-{self.rng.randrange(100)}")
        self.made += 1
        replica.view = self._view_of(replica)
        self.replicas.append(replica)

    def write(self, r: Replica) -> None:
        r.registered(self.now)
        wanted = targets(max_concurrency=LIMITS, replicas=r.view, me=r.replica_id)
        r.pending = claims(allowance=r.allowance, in_flight=r.in_flight(), wanted=wanted)
        self.store[r.replica_id] = Registration(
            r.replica_id, self.now + TTL, self.now + TTL + LEASE, r.pending, r.in_flight()
        )
        r.valid_until = self.now + TTL

    def read(self, r: Replica) -> None:
        assert r.pending is not None
        others = self._others(r)
        r.view = live_replicas(others, me=r.replica_id, now=self.now)
        wanted = targets(max_concurrency=LIMITS, replicas=r.view, me=r.replica_id)
        r.allowance = allowances(
            wanted=wanted,
            claimed=r.pending,
            max_concurrency=LIMITS,
            others=[o.claims for o in others],
        )
        r.pending = None

    def grant(self, r: Replica) -> None:
        if not r.registered(self.now):
            return
        held = r.in_flight()
        free = [k for k in LIMITS if held.get(k, 0) < r.allowance.get(k, 0)]
        if free:
            r.leases.append((self.rng.choice(free), self.now + LEASE))

    def leave(self, r: Replica) -> None:
        r.leaving, r.alive = True, False
        latest = max((until for _, until in r.leases), default=None)
        if latest is None:
            self.store.pop(r.replica_id, None)
        else:
            held = r.in_flight()
            self.store[r.replica_id] = Registration(r.replica_id, self.now, latest, held, held)

    def step(self) -> None:
        live = [r for r in self.replicas if r.alive]
        roll = self.rng.random()
        if roll < 0.04 or not live:
            self.join()
        elif roll < 0.06 and len(live) > 1:
            self.rng.choice(live).alive = False  # kill -9: its leases stay in use
        elif roll < 0.07 and len(live) > 1:
            self.leave(self.rng.choice(live))
        elif roll < 0.20:
            self.now += timedelta(seconds=self.rng.uniform(0, 6))
        else:
            r = self.rng.choice(live)
            action = self.rng.random()
            if action < 0.25:
                if r.pending is not None:
                    self.read(r)
                elif not r.cut_off:
                    self.write(r)
            elif action < 0.28:
                r.cut_off = not r.cut_off  # its writes fail (or work again): it leases on
            elif action < 0.7:
                self.grant(r)
            elif r.leases:
                r.leases.pop(self.rng.randrange(len(r.leases)))  # released
        for r in self.replicas:  # a lease is not in use past its expiry
            r.leases = [(k, until) for k, until in r.leases if until > self.now]

    def leased(self) -> Counter[str]:
        return Counter(key for r in self.replicas for key, _ in r.leases)

    def _others(self, r: Replica) -> list[Registration]:
        return [
            reg
            for rid, reg in self.store.items()
            if rid != r.replica_id and not reg.forgotten(self.now)
        ]

    def _view_of(self, r: Replica) -> list[str]:
        return live_replicas(self._others(r), me=r.replica_id, now=self.now)


@pytest.mark.parametrize("seed", range(150))
def test_the_replicas_never_lease_a_key_past_its_max_concurrency(seed: int) -> None:
    model = Model(random.Random(seed))
    model.join()
    for _ in range(600):
        model.step()
        leased = model.leased()
        assert all(leased[key] <= limit for key, limit in LIMITS.items()), (seed, leased)


@pytest.mark.parametrize("seed", range(20))
def test_the_survivors_end_up_with_every_slot(seed: int) -> None:
    """Once the gone replicas are forgotten, heartbeats hand their shares around."""
    model = Model(random.Random(seed))
    model.join()
    for _ in range(300):
        model.step()
    live = [r for r in model.replicas if r.alive]
    for r in live:
        r.leases.clear()
        r.cut_off = False
    model.now += TTL + LEASE + CLOCK_SLACK + timedelta(seconds=1)
    for _ in range(4):  # heartbeats: each replica writes, then reads
        for r in live:
            if r.pending is not None:
                model.read(r)
            model.write(r)
            model.read(r)
    for key, limit in LIMITS.items():
        assert sum(r.allowance.get(key, 0) for r in live) == limit, (seed, key)
