"""Worker processes with a deadline per task: a pathological input is cut off, the rest goes on.

`concurrent.futures` cannot stop one running task, so each worker here runs one task at a
time and a task past its deadline is killed together with its worker, which is replaced.
A worker that dies (out of memory, a crash in a C library) is reported the same way.
Workers exit by themselves when the parent process disappears (e.g. killed with SIGKILL).

Workers are forked where the system can (fast, and they inherit what the parent loaded) and
spawned elsewhere (Windows). TIANBAO_START_METHOD=spawn forces spawning, so that the Windows
way is tested on Linux too. A task's deadline starts when its worker is ready, not when the
worker is started: a spawned worker first imports the package.

A killed worker cannot clean up after itself, so the pool does it: each worker gets its own
temporary folder (TMPDIR, removed with the worker), and a task that starts a helper program
(LibreOffice) in its own process group registers it with `track_helper`, so that the helper's
whole group is killed with the worker instead of running on, orphaned.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from tianbao.errors import UserError

Item = TypeVar("Item")


@dataclass(frozen=True)
class Failed:
    """A task that gave no result: `timeout` (past its deadline) or `crash` (its worker died)."""

    reason: str


START_METHOD_VARIABLE = "TIANBAO_START_METHOD"
_READY = "ready"
# In a worker: shared with the parent, the process id of the helper group it runs (0: none).
_helper: Any = None


def track_helper(pid: int) -> None:
    """Record a helper process started in its own process group (0 when it has ended), so that
    the pool can kill its group if it kills this worker. Does nothing outside a pool worker."""
    if _helper is not None:
        _helper.value = pid


def kill_group(pid: int) -> None:
    """Kill a helper started in its own process group, with everything it started."""
    if os.name == "nt":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(pid)], capture_output=True, check=False)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):  # ended already
        os.killpg(pid, signal.SIGKILL)


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    chosen = os.environ.get(START_METHOD_VARIABLE) or ("fork" if "fork" in methods else "spawn")
    return multiprocessing.get_context(chosen if chosen in methods else "spawn")


def _serve(connection: Connection, function: Callable[[Any], Any], parent: int, scratch: str,
           helper: Any) -> None:
    global _helper
    _helper = helper
    # Temporary files of this worker and of the programs it starts go to its own folder.
    tempfile.tempdir = scratch
    for variable in ("TMPDIR", "TEMP", "TMP"):
        os.environ[variable] = scratch
    connection.send(_READY)
    while True:
        # Poll rather than block, so an orphaned worker notices its parent is gone.
        if not connection.poll(1.0):
            if os.getppid() != parent:
                return
            continue
        try:
            item = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(function(item))


class _Worker:
    def __init__(self, function: Callable[[Any], Any]) -> None:
        context = _context()
        self.connection, child = context.Pipe()
        self.scratch = tempfile.mkdtemp(prefix="tianbao-worker-")
        self.helper = context.Value("q", 0, lock=False)
        self.process = context.Process(target=_serve, args=(child, function, os.getpid(), self.scratch, self.helper),
                                       daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.task: tuple[Any, float] | None = None  # (item, deadline)

    def stop(self) -> None:
        self.process.kill()
        self.process.join()
        if self.helper.value:
            kill_group(self.helper.value)
        self.connection.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


class TimedPool(Generic[Item]):
    """Runs `function(item)` in `workers` processes, at most `seconds` per item."""

    def __init__(self, function: Callable[[Item], Any], workers: int, seconds: float) -> None:
        self.function = function
        self.size = max(1, workers)
        self.seconds = seconds

    def run(self, items: Iterable[Item]) -> Iterator[tuple[Item, Any]]:
        """(item, result or Failed) in completion order."""
        pending = list(items)
        pending.reverse()
        workers = [_Worker(self.function) for _ in range(min(self.size, len(pending)))]
        try:
            while True:
                self._hand_out(workers, pending)
                starting = [w for w in workers if not w.ready]
                busy = [w for w in workers if w.task is not None]
                if not busy and not (starting and pending):
                    return
                deadlines = [w.task[1] for w in busy if w.task is not None]
                timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                ready = wait([w.connection for w in (*starting, *busy)], timeout=timeout)
                finished: list[tuple[Item, Any]] = []
                for index, worker in enumerate(workers):
                    if not worker.ready:
                        if worker.connection in ready:
                            self._greet(worker)
                        continue
                    if worker.task is None:
                        continue
                    item, deadline = worker.task
                    if worker.connection in ready:
                        try:
                            result: Any = worker.connection.recv()
                        except (EOFError, OSError):
                            result = Failed("crash")
                    elif time.monotonic() >= deadline:
                        result = Failed("timeout")
                    else:
                        continue
                    worker.task = None
                    if isinstance(result, Failed):
                        worker.stop()
                        workers[index] = _Worker(self.function)
                    finished.append((item, result))
                # The next files go out before the results are handed on: a worker reads while
                # the caller deals with what came back (with two workers, the parent's share of
                # each file kept a worker idle).
                self._hand_out(workers, pending)
                yield from finished
        finally:
            for worker in workers:
                worker.stop()

    def _hand_out(self, workers: list[_Worker], pending: list[Item]) -> None:
        """Give each ready, idle worker the next item; its deadline starts now."""
        for worker in workers:
            if worker.ready and worker.task is None and pending:
                item = pending.pop()
                worker.connection.send(item)
                worker.task = (item, time.monotonic() + self.seconds)

    @staticmethod
    def _greet(worker: _Worker) -> None:
        """A starting worker's first message. A worker that cannot even start is no file's
        fault: every worker would fail the same way, so the whole run stops."""
        try:
            worker.ready = worker.connection.recv() == _READY
        except (EOFError, OSError):
            worker.ready = False
        if not worker.ready:
            raise UserError("无法启动读取文件的处理进程，请检查 tianbao 的安装是否完整。")
