"""`python -m git44_worker`: run a worker process."""

import asyncio

from git44_worker.main import main

if __name__ == "__main__":
    asyncio.run(main())
