"""The portal under load: `tianbao serve` on 127.0.0.1 as a clerk starts it, units uploading
over HTTP exactly as a browser does (page, CSRF token, multipart upload, result page).

    python benchmarks/bench_portal.py [--units 50] [--repeat 3] [--start-method spawn fork]

For each start method of the import workers (spawn is what `tianbao serve` uses by default,
and what Windows does): the latency of one upload when the portal is idle (median of
--repeat), then --units uploads at once: median and 95th-percentile latency, the time until
the last one is answered, and the throughput. Prints measured / goal / ratio (ratio ≤ 1 meets
the goal; for throughput the ratio is goal / measured).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import filled_report
from tianbao.collection.folder import create_collection
from tianbao.form import resolve_form
from tianbao.portal.access import issue_links, set_password
from tianbao.workbook.write import WriteOptions, render_workbook

GOALS = {"idle upload, median s": 2.0, "at once, median latency s": 15.0, "at once, p95 latency s": 30.0,
         "at once, last answer s": 30.0, "throughput uploads/s": 2.0}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TIMEOUT = 600.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(folder: Path, units: int, repeat: int) -> tuple[Path, dict[str, str], dict[str, bytes]]:
    """A collection of `units + repeat` units (the idle uploads use their own), their links and workbooks."""
    form = resolve_form(None)
    rng = random.Random(19)
    reports = [filled_report(form, index, rng) for index in range(1, units + repeat + 1)]
    roster = folder / "roster.csv"
    roster.write_text("单位代码,单位名称,单位层级\n" + "".join(
        f"{r.unit.code},{r.unit.name},{r.unit.level}\n" for r in reports), encoding="utf-8")
    collection = create_collection(folder / "2025年报", roster, 2025, form, None)
    set_password(collection, "bench-password")
    tokens = {item.unit: item.token for item in issue_links(collection, [r.unit.code for r in reports])}
    books = {r.unit.code: render_workbook(form, r, WriteOptions()) for r in reports}
    return collection.root, tokens, books


def upload(base: str, token: str, data: bytes, start: threading.Barrier | None = None) -> tuple[float, float]:
    """When the upload was sent and when its result page was answered (perf_counter)."""
    with httpx.Client(follow_redirects=True, timeout=TIMEOUT) as client:
        page = client.get(f"{base}/u/{token}")
        csrf = CSRF.search(page.text)
        if csrf is None:
            raise RuntimeError("the unit page has no CSRF token")
        if start is not None:
            start.wait()
        began = time.perf_counter()
        answer = client.post(f"{base}/u/{token}/upload", data={"csrf": csrf.group(1)},
                             files={"workbook": ("年报.xlsx", data)})
        ended = time.perf_counter()
    if answer.status_code != 200 or "已接收" not in answer.text:
        raise RuntimeError(f"upload failed: {answer.status_code}")
    return began, ended


def run(method: str, units: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as temporary:
        root, tokens, books = prepare(Path(temporary), units, repeat)
        codes = list(tokens)
        port = free_port()
        env = {**os.environ, "TIANBAO_START_METHOD": method, "PYTHONIOENCODING": "utf-8"}
        server = subprocess.Popen([sys.executable, "-m", "tianbao", "serve", str(root), "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    with urllib.request.urlopen(f"{base}/login", timeout=5):
                        break
                except OSError:
                    time.sleep(0.2)
            idle = [ended - began for began, ended in (upload(base, tokens[code], books[code])
                                                       for code in codes[units:])]
            start = threading.Barrier(units)
            with ThreadPoolExecutor(units) as pool:
                spans = list(pool.map(lambda code: upload(base, tokens[code], books[code], start), codes[:units]))
            latencies = [ended - began for began, ended in spans]
            last = max(ended for _began, ended in spans) - min(began for began, _ended in spans)
        finally:
            server.terminate()
            server.wait(timeout=60)
    latencies.sort()
    return {"idle upload, median s": statistics.median(idle),
            "at once, median latency s": statistics.median(latencies),
            "at once, p95 latency s": latencies[max(0, round(0.95 * len(latencies)) - 1)],
            "at once, last answer s": last, "throughput uploads/s": units / last}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--start-method", nargs="+", default=["spawn", "fork"])
    args = parser.parse_args()
    print(f"{args.units} units uploading at once, on {os.cpu_count()} cores")
    print(f"{'start method':<14}{'measure':<30}{'measured':>10}{'goal':>8}{'ratio':>8}")
    for method in args.start_method:
        for name, measured in run(method, args.units, args.repeat).items():
            goal = GOALS[name]
            ratio = goal / measured if name.startswith("throughput") else measured / goal
            print(f"{method:<14}{name:<30}{measured:>10.2f}{goal:>8.1f}{ratio:>8.2f}")


if __name__ == "__main__":
    main()
