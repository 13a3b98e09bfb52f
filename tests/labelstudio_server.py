"""A real Label Studio server for tests and benchmarks, in its own virtual environment.

Follows the checked recipe in shared/notes/label-studio.md: `.venv-ls/` at the repository root
(`scripts/setup.sh --test` creates it), loopback only (`--internal-host 127.0.0.1`, a free port),
a preset admin and legacy token, a fixed SECRET_KEY, and data dir and HOME in a temporary folder.
The server runs in its own process group so a test can kill it mid-sync and start it again on
the same data dir and port (`LabelStudioServer.kill()` / `.start()`).

Stdlib only: the benchmark imports it too (`benchmarks/labelstudio_sync.py`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LS_VENV = ROOT / ".venv-ls"
LS_BIN = LS_VENV / "bin" / "label-studio"
ADMIN_EMAIL = "admin@example.com"


class LabelStudioUnavailable(RuntimeError):
    """The server could not be installed or started (the message says why)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabelStudioServer:
    """One Label Studio process on 127.0.0.1:`port` with its data in `root`."""

    def __init__(self, root: Path | None = None, port: int | None = None):
        if not LS_BIN.exists():
            raise LabelStudioUnavailable(
                f"{LS_BIN} not found: run `scripts/setup.sh --test` (creates .venv-ls/ with "
                "label-studio)"
            )
        self.root = Path(root or tempfile.mkdtemp(prefix="labelkit-ls-"))
        self.data_dir = self.root / "data"
        self.home = self.root / "home"
        self.log_file = self.root / "label-studio.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(exist_ok=True)
        self.port = port or free_port()
        self.token = secrets.token_hex(20)
        self.password = secrets.token_urlsafe(16)
        self.secret_key = secrets.token_urlsafe(50).replace("$", "x")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            # The server reads these as fallbacks for its own settings (see the notes).
            if key not in ("PORT", "HOST", "USERNAME", "PASSWORD", "LABEL_STUDIO_API_KEY")
            and not key.startswith(("DJANGO_", "LABEL_STUDIO_"))
        }
        env.update(
            HOME=str(self.home),
            LABEL_STUDIO_USERNAME=ADMIN_EMAIL,
            LABEL_STUDIO_PASSWORD=self.password,
            LABEL_STUDIO_USER_TOKEN=self.token,
            LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
            LABEL_STUDIO_BASE_DATA_DIR=str(self.data_dir),
            LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
            SECRET_KEY=self.secret_key,
            LATEST_VERSION_CHECK="false",
            COLLECT_ANALYTICS="false",
            SENTRY_DSN="",
            FRONTEND_SENTRY_DSN="",
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self, timeout: float = 180) -> LabelStudioServer:
        """Start (or restart, on the same data dir and port) and wait for /health."""
        if self.process is not None and self.process.poll() is None:
            return self
        command = [
            str(LS_BIN),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--enable-legacy-api-token",
        ]
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.root,
                env=self._environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: kill() takes its children too
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LabelStudioUnavailable(
                    f"label-studio exited with code {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.3)
        self.kill()
        raise LabelStudioUnavailable(
            f"label-studio did not answer on {self.url}/health within {timeout:.0f} s:\n"
            f"{self.log_tail()}"
        )

    def kill(self) -> None:
        """Kill the server at once (SIGKILL to its process group), like a crash."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then kill when it does not go within 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            pass

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
