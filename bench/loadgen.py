"""The load generator and server plumbing of bench/service.py, in a module of its own so that
the client processes (started with ``spawn``) import only this.

* :func:`drive` loads one URL path from several client processes, closed loop or at a fixed
  rate, and returns a :class:`Result` (statuses, latencies, requests per second).
* :class:`Server` runs a server command in its own process group, measures the resident
  memory of it and its workers, and stops it.

Only 127.0.0.1 is ever targeted.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"  # the only address this benchmark ever sends to


# --- the load generator ---------------------------------------------------------------------


@dataclass
class Result:
    """What one run of the load generator saw."""

    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    late_ms: list[float] = field(default_factory=list)  # open loop: client woke late

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def failed(self) -> int:
        return self.errors + sum(n for s, n in self.statuses.items() if s != 200)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(p / 100 * len(data)))]

    def summary(self) -> dict[str, Any]:
        late = sorted(self.late_ms)
        extra = {"client_late_p99_ms": round(late[int(0.99 * len(late))], 2)} if late else {}
        return {**extra,
            "requests_per_second": round(self.rps, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
            "ok": self.ok,
            "failed": self.failed,
            "seconds": round(self.seconds, 2),
        }


def http_request(path: str, body: bytes, port: int) -> bytes:
    """One POST as bytes on the wire (keep-alive)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _exchange(sock: socket.socket, data: bytes) -> tuple[int, bool]:
    """Send one request, read the whole response; its status and whether the server closes."""
    sock.sendall(data)
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lower = head.lower()
    start = lower.find(b"\r\ncontent-length:")
    length = int(lower[start + 17 : lower.find(b"\r\n", start + 2)]) if start >= 0 else 0
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the response")
        rest += chunk
    return int(head[9:12]), b"\r\nconnection: close" in lower


def _client(port: int, requests: Sequence[bytes], start: float, until: float,
            interval: float, offset: int, out: Any) -> None:
    """One client process: closed loop (``interval`` 0) or one request every ``interval``
    seconds. Open-loop latency is counted from when the request was due, less only the time
    this process itself woke late while its connection was free (on 2 shared cores a
    sleeping client can wake milliseconds late; that is not the server's doing, while a
    server stall still counts in full for every request queued behind it)."""
    result = Result(0.0)
    sock: socket.socket | None = None
    due = start
    index = offset
    done = start
    while True:
        now = time.monotonic()
        if interval:
            if now < due:
                time.sleep(due - now)
            scheduled, due = due, due + interval
        else:
            scheduled = now
        if scheduled >= until:
            break
        sent = time.monotonic()
        late = max(0.0, sent - max(scheduled, done)) if interval else 0.0
        try:
            if sock is None:
                sock = socket.create_connection((HOST, port), timeout=30)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            status, close = _exchange(sock, requests[index % len(requests)])
            result.statuses[status] += 1
            if close:
                sock.close()
                sock = None
        except OSError:
            result.errors += 1
            if sock is not None:
                sock.close()
            sock = None
        done = time.monotonic()
        result.latencies_ms.append((done - scheduled - late) * 1000)
        result.late_ms.append(late * 1000)
        index += 1
    if sock is not None:
        sock.close()
    out.put(result)


def drive(
    port: int, path: str, bodies: Sequence[bytes], seconds: float, clients: int, rate: float = 0.0
) -> Result:
    """Load ``path`` from ``clients`` processes for ``seconds``: closed loop, or ``rate``
    requests per second in all when given."""
    requests = [http_request(path, b, port) for b in bodies]
    context = mp.get_context("spawn")
    queue = context.Queue()
    start = time.monotonic() + 1.0  # every process starts together
    interval = clients / rate if rate else 0.0
    procs = [
        context.Process(
            target=_client,
            args=(
                port,
                requests,
                start + i * interval / clients,
                start + seconds,
                interval,
                i * 7,
                queue,
            ),
        )
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    parts = [queue.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    total = Result(seconds)
    for part in parts:
        total.statuses.update(part.statuses)
        total.errors += part.errors
        total.latencies_ms.extend(part.latencies_ms)
        total.late_ms.extend(part.late_ms)
    return total


# --- the servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, path: str = "/readyz", timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not become ready")


class Server:
    """A server process group started for the benchmark and stopped by it."""

    def __init__(self, argv: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            argv,
            stdout=self.log,
            stderr=self.log,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )

    def rss_kb(self) -> int:
        """Resident memory of the master and its workers, in kB."""
        pids = [self.process.pid] + _children(self.process.pid)
        return sum(_rss_kb(p) for p in pids)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
