"""`python -m git44_worker`: run a worker process (on uvloop, like the HTTP services)."""

import uvloop

from git44_worker.main import main

if __name__ == "__main__":
    uvloop.run(main())
