"""A real Mosquitto 2 (Debian's package) with its dynamic-security plugin, on a free loopback port, for the
external-broker tests: ``apt-get install -y --no-install-recommends mosquitto`` (also gives ``mosquitto_ctrl``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from support.server import free_port

PLUGIN_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib")
ADMIN, ADMIN_PASSWORD = "admin", "admin-test-password"


def plugin_path() -> str | None:
    for d in PLUGIN_DIRS:
        candidate = Path(d) / "mosquitto_dynamic_security.so"
        if candidate.exists():
            return str(candidate)
    return None


def available() -> bool:
    return bool(shutil.which("mosquitto") and shutil.which("mosquitto_ctrl") and plugin_path())


@dataclass
class Mosquitto:
    port: int
    process: subprocess.Popen[bytes]
    directory: Path

    @property
    def admin_url(self) -> str:
        return f"mqtt://{ADMIN}:{ADMIN_PASSWORD}@127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start(directory: Path) -> Mosquitto:
    directory.mkdir(parents=True, exist_ok=True)
    dynsec = directory / "dynamic-security.json"
    subprocess.run(["mosquitto_ctrl", "dynsec", "init", str(dynsec), ADMIN, ADMIN_PASSWORD], check=True,
                   capture_output=True, timeout=30)
    dynsec.chmod(0o666)
    port = free_port()
    conf = directory / "mosquitto.conf"
    # Started as root (CI), mosquitto would drop to its own user, which cannot read a test's private directory.
    user = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous false\n{user}plugin {plugin_path()}\n"
                    f"plugin_opt_config_file {dynsec}\n")
    log = (directory / "mosquitto.log").open("wb")
    process = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return Mosquitto(port, process, directory)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"mosquitto did not start: {(directory / 'mosquitto.log').read_text()}") from None
            time.sleep(0.1)
