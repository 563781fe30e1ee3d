"""The submission benchmark's reference: only the irreducible work of a submission.

`POST /reference/{user_id}` = one atomic quota reservation (git44_common.quota, the same
`user_quotas` document jobs-api uses), one insert of a job document into a collection
with `removal_jobs`' indexes, one persistent publish awaited for its confirm on the
same broker. No auth, no transaction, no outbox bookkeeping, no job event.

Run by bench_submission as its own process:
`python -m tests.bench._reference_app` with MONGODB_URL, MONGODB_DB, AMQP_URL,
AMQP_NAMESPACE and REFERENCE_PORT in the environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aio_pika
import uvicorn
from fastapi import FastAPI, HTTPException

from git44_common.amqp import REMOVAL_REQUESTED, Topology
from git44_common.collections import REMOVAL_JOBS as JOBS
from git44_common.collections import USER_QUOTAS as QUOTAS
from git44_common.contracts import RemovalRequested
from git44_common.jobs import new_job_document, new_job_id
from git44_common.mongo import create_mongo_client, ensure_indexes
from git44_common.quota import reserve_filter, reserve_update
from git44_jobs.core.db import INDEXES

REFERENCE_JOBS = "removal_jobs_reference"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    mongo = create_mongo_client(os.environ["MONGODB_URL"], app_name="bench-reference")
    db = mongo[os.environ["MONGODB_DB"]]
    specs = [
        dataclasses.replace(s, collection=REFERENCE_JOBS) for s in INDEXES if s.collection == JOBS
    ]
    await ensure_indexes(db, specs)
    connection = await aio_pika.connect_robust(os.environ["AMQP_URL"])
    channel = await connection.channel(publisher_confirms=True)
    topology = Topology(namespace=os.environ["AMQP_NAMESPACE"])
    app.state.db = db
    app.state.exchange = await channel.get_exchange(topology.jobs_exchange)
    try:
        yield
    finally:
        await connection.close()
        await mongo.close()


app = FastAPI(lifespan=lifespan)


@app.post("/reference/{user_id}", status_code=202)
async def submit(user_id: str, body: dict[str, Any]) -> dict[str, str]:
    db = app.state.db
    now = datetime.now(UTC)
    quota = await db[QUOTAS].find_one_and_update(
        reserve_filter(user_id, now), reserve_update(now), projection={"_id": 1}
    )
    if quota is None:
        raise HTTPException(402, "no credit")
    job = new_job_document(
        job_id=new_job_id(),
        user_id=user_id,
        source="web",
        input_link=str(body.get("inputLink")),
        now=now,
        max_retries=3,
        max_polls=8,
    )
    await db[REFERENCE_JOBS].insert_one(job)
    message = RemovalRequested(job_id=job["_id"], user_id=user_id)
    await app.state.exchange.publish(
        aio_pika.Message(
            message.model_dump_json().encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        ),
        routing_key=REMOVAL_REQUESTED,
    )
    return {"id": job["_id"], "status": job["status"]}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["REFERENCE_PORT"]), log_level="warning")
