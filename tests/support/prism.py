"""The vendors' published API descriptions, served by the Stoplight Prism mock server.

Prism (pinned in ``package.json``) runs as a child process on 127.0.0.1, one per description
file, started the first time a test asks for it and stopped (by its own process id) when the
test run ends. The descriptions are read where they are kept, never copied: the folder named
by ``CONNECTOR_GATEWAY_VENDOR_SPECS``, by default ``../shared/vendor-specs`` beside the
repository. A missing folder or a missing Prism fails the test that needs it, naming what is
missing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRISM = REPO / "node_modules" / ".bin" / "prism"
SPECS_ENV = "CONNECTOR_GATEWAY_VENDOR_SPECS"
# DocuSign's eSignature variant takes about 5 s here; a loaded machine takes longer.
START_TIMEOUT_S = 120.0
_READY = "Prism is listening on"


def vendor_specs_dir() -> Path:
    """Where the vendors' published descriptions are; fails naming the folder if absent.

    Without the environment variable: ``shared/vendor-specs`` beside the repository, or
    beside a folder holding it (a second working tree of the repository)."""
    named = os.environ.get(SPECS_ENV)
    beside = [parent / "shared" / "vendor-specs" for parent in REPO.parents]
    folder = Path(named) if named else next((p for p in beside if p.is_dir()), beside[0])
    if not folder.is_dir():
        pytest.fail(
            f"the vendors' API descriptions are not at {folder}: set {SPECS_ENV} to their folder"
        )
    return folder


def spec_file(spec: str) -> Path:
    """A description file, given relative to the vendor-specs folder."""
    path = vendor_specs_dir() / spec
    if not path.is_file():
        pytest.fail(f"no API description {spec!r} in {vendor_specs_dir()}")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrismServers:
    """One Prism mock server per description file, for the whole test run."""

    def __init__(self, logs: Path) -> None:
        self._logs = logs
        self._running: dict[str, tuple[subprocess.Popen[bytes], str]] = {}

    def url(self, spec: str, *, dynamic: bool = False) -> str:
        """The base URL of Prism serving ``spec`` (started on first use). ``dynamic``
        answers with generated data instead of the description's examples."""
        name = f"{spec}{' (dynamic)' if dynamic else ''}"
        if name not in self._running:
            self._running[name] = self._start(spec, dynamic)
        process, url = self._running[name]
        if process.poll() is not None:
            pytest.fail(f"Prism serving {name} exited with {process.returncode}")
        return url

    def _start(self, spec: str, dynamic: bool) -> tuple[subprocess.Popen[bytes], str]:
        if not PRISM.exists():
            pytest.fail(f"Prism is not installed at {PRISM}: run 'make test' (npm ci)")
        path = spec_file(spec)
        port = _free_port()
        command = [str(PRISM), "mock", str(path), "-p", str(port), "-h", "127.0.0.1"]
        if dynamic:
            command += ["-d", "--seed", "1"]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO
        )
        log = _Log(self._logs / f"prism-{port}.log", process)
        if not log.ready.wait(START_TIMEOUT_S):
            _stop(process)
            pytest.fail(f"Prism did not start serving {spec} in {START_TIMEOUT_S:.0f} s")
        if process.poll() is not None or not log.listening:
            _stop(process)
            pytest.fail(f"Prism could not serve {spec}: {log.path.read_text(errors='replace')}")
        return process, f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for process, _ in self._running.values():
            _stop(process)
        self._running.clear()


class _Log:
    """Copies Prism's output to a file (a full pipe would stall it) and says when it is
    listening, or has ended without."""

    def __init__(self, path: Path, process: subprocess.Popen[bytes]) -> None:
        self.path = path
        self.ready = threading.Event()
        self.listening = False
        self._process = process
        threading.Thread(target=self._copy, name=f"prism-log-{path.stem}", daemon=True).start()

    def _copy(self) -> None:
        assert self._process.stdout is not None
        with self.path.open("wb") as out:
            for line in self._process.stdout:
                out.write(line)
                out.flush()
                if not self.listening and _READY in line.decode(errors="replace"):
                    self.listening = True
                    self.ready.set()
        self.ready.set()  # ended: whoever waits learns it now


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrismServers]:
    """Prism mock servers of the vendors' descriptions, started on first use."""
    servers = PrismServers(tmp_path_factory.mktemp("prism"))
    try:
        yield servers
    finally:
        servers.stop()
