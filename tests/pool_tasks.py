"""Tasks for the worker-pool tests. They live in a module of their own so that a spawned
worker (the Windows way) can import them by name."""

from __future__ import annotations

import os
import time

# A spawned worker imports this module first: a slow import stands for a slow start-up.
time.sleep(float(os.environ.get("POOL_TASKS_IMPORT_SECONDS", "0")))


def behave(item: str) -> str:
    """'hang' never returns, 'crash' kills its worker as an out-of-memory kill would, the rest echo."""
    if item.startswith("hang"):
        time.sleep(3600)
    if item.startswith("crash"):
        os._exit(9)
    return item.upper()
