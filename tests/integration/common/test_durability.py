"""An acknowledged write survives a database crash: the local stacks' SecantusDB
(`make run`, the chaos and soak stacks) and Git44's client write concern.

Without `--sync-on-commit` SecantusDB acknowledged commits it still held in memory,
and a `kill -9` right after lost them — transactions included: the hour-long soak lost
an accepted job this way (docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from localstack import ManagedProcess, free_port, secantus_command, wait_for_port

from git44_common.mongo import create_mongo_client

pytestmark = pytest.mark.integration

WRITES = 40


class Server:
    def __init__(self, storage: Path) -> None:
        self.port = free_port()
        self.storage = storage
        self.proc: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = secantus_command(self.port, str(self.storage))
        self.proc = ManagedProcess("secantusdb", command, log_dir=self.storage.parent).start()
        wait_for_port("127.0.0.1", self.port, timeout=60)

    def crash(self) -> None:
        assert self.proc is not None
        self.proc.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path / "mongo")
    server.start()
    yield server
    server.crash()


async def test_commits_acknowledged_just_before_a_kill_9_are_there_after_the_restart(
    server: Server,
) -> None:
    client = create_mongo_client(server.url, app_name="durability-test")
    assert client.write_concern.document == {"w": "majority", "j": True}
    db = client["durability"]
    for n in range(WRITES):
        await db["leases"].update_one({"_id": "job"}, {"$set": {"n": n}}, upsert=True)
        async with client.start_session() as session, await session.start_transaction():
            await db["jobs"].insert_one({"_id": n}, session=session)
            await db["quotas"].update_one(
                {"_id": "user"}, {"$inc": {"charged": 1}}, upsert=True, session=session
            )
    server.crash()  # at once: nothing had time to reach the disk on its own
    await client.close()

    server.start()
    client = create_mongo_client(server.url, app_name="durability-test")
    try:
        db = client["durability"]
        assert await db["jobs"].count_documents({}) == WRITES
        assert await db["quotas"].find_one({"_id": "user"}) == {"_id": "user", "charged": WRITES}
        assert await db["leases"].find_one({"_id": "job"}) == {"_id": "job", "n": WRITES - 1}
    finally:
        await client.close()
