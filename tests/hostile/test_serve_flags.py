"""``tuyacloud serve`` takes the connection limits as flags and as TUYACLOUD_* variables and applies them: a real
process, real sockets."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from support.cli import cli_command, cli_env
from support.hostile import connect, exchange
from support.server import free_port

HEALTH = b"GET /_tuyacloud/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {**cli_env(), "TUYACLOUD_HEADER_TIMEOUT": "1"}
    cmd = [*cli_command(), "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--no-demo",
           "--no-simulator", "--max-connections-per-address", "3"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Serving, not only listening: `serve` binds its ports before it opens the store and starts the app, so a
        # connection is accepted seconds before anything answers on a busy machine, and a test that began then
        # waited out its own 8 s read time-out for a 408 the server was not yet running to send.
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = exchange(port, HEALTH, timeout=5)
                if answer is not None and answer.status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        time.sleep(0.5)  # the probe connections above are gone
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_applies_the_flag_and_the_variable(served: int) -> None:
    with connect(served) as slow:
        slow.sendall(b"GET /_tuyacloud/health HTTP/1.1\r\nHost: 127")
        slow.settimeout(8)
        assert slow.recv(4096).startswith(b"HTTP/1.1 408")  # TUYACLOUD_HEADER_TIMEOUT=1
    with ExitStack() as held:
        for _ in range(3):
            # heads complete, bodies pending: held for the default 30 s body time-out, not the 1 s head time-out
            held.enter_context(connect(served)).sendall(b"POST /v1.0/devices HTTP/1.1\r\nContent-Length: 9\r\n\r\n")
        time.sleep(0.3)
        refused = exchange(served, HEALTH)  # --max-connections-per-address 3
        assert refused is not None and refused.json()["code"] == 1110
