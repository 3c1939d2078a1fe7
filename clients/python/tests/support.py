"""Test support: makes servesim_client importable and runs real servesim servers as child processes.

The servers are started with ``npx tsx --conditions=source clients/cli/src/main.ts serve ...`` from the repository root
(override the command with SERVESIM_CLI, e.g. ``node clients/cli/dist/main.js``) on port 0; the
port is read from the server's ``listening`` log line, then health is polled until SERVING. One
predictor and one scheduler are shared by every test module and stopped at exit.

To run the tests against servers that are already running instead, set
SERVESIM_TEST_PREDICTOR_ADDRESS and SERVESIM_TEST_SCHEDULER_ADDRESS (host:port); the scheduler must use
that predictor.
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import unittest
from collections import deque
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Optional

PYTHON_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PYTHON_DIR.parents[1]
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

from servesim_client import check_health, wait_until_serving  # noqa: E402

START_TIMEOUT_S = float(os.environ.get("SERVESIM_TEST_START_TIMEOUT_S", "120"))


def cli_command() -> List[str]:
    override = os.environ.get("SERVESIM_CLI")
    return shlex.split(override) if override else ["npx", "tsx", "--conditions=source", "clients/cli/src/main.ts"]


class ExternalServer:
    """A server the tests did not start (SERVESIM_TEST_*_ADDRESS)."""

    def __init__(self, address: str) -> None:
        self.address = address
        wait_until_serving(address, timeout=START_TIMEOUT_S)

    def stop(self) -> None:
        pass


class ServerProcess:
    """One `servesim serve <service>` child process on a free port (its own process group)."""

    def __init__(self, service: str, args: List[str]) -> None:
        self.service = service
        self.lines: Deque[str] = deque(maxlen=500)
        self._listening = threading.Event()
        self.port: Optional[int] = None
        cmd = cli_command() + ["serve", service, "--host", "127.0.0.1", "--port", "0", "--log-level", "info", *args]
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._listening.wait(START_TIMEOUT_S) or self.port is None:
            try:  # the output ended without a `listening` line: the server exited
                code = self.proc.wait(5) if self._listening.is_set() else None
            except subprocess.TimeoutExpired:
                code = None
            self.stop()
            why = f"exited with code {code}" if code is not None else f"did not start within {START_TIMEOUT_S:g} s"
            raise RuntimeError(f"servesim {service} {why} ({shlex.join(cmd)}):\n" + "\n".join(self.lines))
        wait_until_serving(self.address, timeout=START_TIMEOUT_S)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if self.port is None:
                try:
                    entry: Dict[str, object] = json.loads(line)
                except ValueError:
                    continue
                if entry.get("msg") == "listening" and isinstance(entry.get("port"), int):
                    self.port = int(entry["port"])  # type: ignore[arg-type]
                    self._listening.set()
        self._listening.set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_messages(self) -> List[str]:
        """The `msg` of every JSON log line so far."""
        out = []
        for line in list(self.lines):
            try:
                out.append(str(json.loads(line).get("msg")))
            except ValueError:
                pass
        return out

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to the server's process group (graceful drain), SIGKILL if it does not exit."""
        if self.proc.poll() is not None:
            self._close_pipe()
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self.proc.stdout is not None and self._reader is not threading.current_thread():
            self._reader.join(5)
            self.proc.stdout.close()


_servers: Dict[str, "ServerProcess"] = {}
_lock = threading.Lock()


def _stop_all() -> None:
    for server in reversed(list(_servers.values())):
        server.stop()
    _servers.clear()


atexit.register(_stop_all)


def predictor_server() -> ServerProcess:
    """The shared predictor service (started on first use)."""
    with _lock:
        if "predictor" not in _servers:
            external = os.environ.get("SERVESIM_TEST_PREDICTOR_ADDRESS")
            _servers["predictor"] = ExternalServer(external) if external else ServerProcess("predictor", [])  # type: ignore[assignment]
        return _servers["predictor"]


def scheduler_server() -> ServerProcess:
    """The shared scheduler service, wired to the shared predictor (started on first use)."""
    external = os.environ.get("SERVESIM_TEST_SCHEDULER_ADDRESS")
    predictor = None if external else predictor_server()
    with _lock:
        if "scheduler" not in _servers:
            if external:
                _servers["scheduler"] = ExternalServer(external)  # type: ignore[assignment]
                return _servers["scheduler"]
            assert predictor is not None
            _servers["scheduler"] = ServerProcess("scheduler", ["--predictor-address", predictor.address])
        return _servers["scheduler"]


class LiveServiceTestCase(unittest.TestCase):
    """Tests of one client against a shared real server: a subclass sets ``start_server`` (wrapped in
    staticmethod) and ``client_class``; the class gets ``server`` and an open ``client`` of it."""

    start_server: Callable[[], ServerProcess]
    client_class: Callable[[str], Any]

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = cls.start_server()
        cls.client = cls.client_class(cls.server.address)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def assert_serving(self, service: str) -> None:
        """Health/Check reports SERVING for the whole server and for ``service``."""
        self.assertEqual(check_health(self.server.address), "SERVING")
        self.assertEqual(check_health(self.server.address, service), "SERVING")
