"""``tuyacloud serve --workers N``: N processes on one PostgreSQL database behind one port.

The workers share the bound socket (any of them answers a connection), worker 0 alone binds the embedded MQTT
broker's port, a worker killed with SIGKILL is started again while the other goes on answering, SIGTERM stops
them all, and workers whose supervisor was killed stop by themselves. On SQLite the option is refused with the
reason.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from support import web
from support.cli import cli_command, cli_env
from support.faults import Serve, eventually
from support.scaleout import needs_postgres, new_database, start
from support.server import free_port


def _children(parent: int) -> set[int]:
    found = set()
    for task in os.listdir(f"/proc/{parent}/task"):
        with open(f"/proc/{parent}/task/{task}/children") as f:
            found |= {int(p) for p in f.read().split()}
    return found


def _listeners(port: int) -> set[int]:
    """The processes holding a socket that listens on ``port`` (from /proc: no tool needed)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                    inodes.add(fields[9])
    pids = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            pids.add(int(pid))
    return pids


def _answering(server: Serve) -> tuple[int, int]:
    """(worker index, pid) of the process that answered a request on a fresh connection."""
    body = web.get(f"{server.url}/_tuyacloud/health", timeout=5).json()["result"]["process"]
    assert body["workers"] == 2
    return int(body["worker"]), int(body["pid"])


def _workers(server: Serve) -> dict[int, int]:
    """Worker index -> pid, once a request was answered by each (connections go to whichever accepts first)."""
    seen: dict[int, int] = {}

    def both() -> bool:
        index, pid = _answering(server)
        seen[index] = pid
        return len(seen) == 2

    eventually(both, timeout=15, every=0.01, what="both workers answering")
    return seen


def test_workers_are_refused_on_sqlite_with_the_reason(tmp_path: Path) -> None:
    done = subprocess.run([*cli_command(), "serve", "--workers", "2", "--data-dir", str(tmp_path / "data"),
                           "--database-url", f"sqlite:///{tmp_path / 'data' / 'tuyacloud.db'}",
                           "--port", str(free_port())],
                          capture_output=True, text=True, timeout=60, env=cli_env())
    assert done.returncode == 2, done
    assert "--workers 2 needs PostgreSQL" in done.stderr, done.stderr
    assert "--database-url postgresql://" in done.stderr
    assert not (tmp_path / "data" / "tuyacloud.db").exists(), "nothing is created before the refusal"


@needs_postgres
def test_two_workers_share_the_port_a_killed_one_comes_back_sigterm_stops_all(tmp_path: Path) -> None:
    server = start(tmp_path / "data", new_database(), "workers", "--workers", "2")
    try:
        banner = server.out.read_text()
        assert banner.count("tuyacloud is serving") == 1, banner  # one banner, from worker 0
        assert "workers:      2 processes share these ports" in banner
        workers = _workers(server)
        assert set(workers.values()) == _children(server.proc.pid)

        # SIGKILL worker 1: the other answers every request meanwhile; the supervisor starts a new worker 1.
        os.kill(workers[1], signal.SIGKILL)
        for _ in range(50):
            assert web.get(f"{server.url}/_tuyacloud/health", timeout=5).status_code == 200
        eventually(lambda: len(_children(server.proc.pid)) == 2 and workers[1] not in _children(server.proc.pid),
                   timeout=15, what="worker 1 started again")
        again = _workers(server)
        assert again[0] == workers[0] and again[1] != workers[1]
        assert "worker 1 (pid" in server.err.read_text() and "starting it again" in server.err.read_text()

        # SIGTERM: every worker drains and stops, then the supervisor, with status 0.
        server.proc.terminate()
        assert server.proc.wait(timeout=45) == 0
        out = server.out.read_text()
        assert out.rstrip().endswith("tuyacloud stopped: all 2 workers"), out[-500:]
        assert out.count("tuyacloud stopped: drained") == 2
    finally:
        server.stop()


@needs_postgres
def test_only_worker_0_runs_the_embedded_mqtt_broker_and_a_new_worker_0_binds_it_again(tmp_path: Path) -> None:
    mqtt_port = free_port()
    server = Serve(tmp_path / "data", new_database(), "mqtt", "--no-demo", "--no-simulator", "--workers", "2",
                   "--mqtt-port", str(mqtt_port))
    try:
        eventually(server.ready, timeout=60, every=0.1, what="the workers started")
        workers = _workers(server)
        eventually(lambda: _listeners(mqtt_port) == {workers[0]}, what="worker 0 alone listening for MQTT")
        assert "MQTT:         tcp://127.0.0.1:" in server.out.read_text()
        os.kill(workers[0], signal.SIGKILL)
        eventually(lambda: (pids := _listeners(mqtt_port)) and workers[0] not in pids
                   and pids <= _children(server.proc.pid), timeout=20, what="a new worker 0 binding MQTT again")
        assert len(_listeners(mqtt_port)) == 1

        # The supervisor killed outright: its workers notice and stop by themselves (nothing is left serving).
        workers = dict(enumerate(sorted(_children(server.proc.pid))))
        server.kill()
        eventually(lambda: not any(_running(pid) for pid in workers.values()), timeout=45,
                   what="the orphaned workers stopping")
    finally:
        server.stop()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")
