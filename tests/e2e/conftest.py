"""Real-browser fixtures: Debian's Chromium driven by Playwright, Voila and JupyterLab servers.

Servers bind to 127.0.0.1 on a free port and are stopped by the fixture that started them.
Every page blocks requests that leave the machine (Voila asks a CDN for fonts) and records
console errors and dialogs, so a test can assert that no script from the data ran.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LABELKIT = str(Path(sys.executable).with_name("labelkit"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    """Stop a server and everything it started (its kernels)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        message = "Debian's chromium is not installed (scripts/setup.sh --test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class PageWatch:
    """What a page did that a user would notice or a test must forbid."""

    def __init__(self, page):
        self.page, self.console_errors, self.dialogs = page, [], []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        page.on("dialog", self._dialog)

    def _console(self, message):
        # The CDN requests we block show up as failed loads: not errors of ours.
        if message.type == "error" and "net::ERR_FAILED" not in message.text:
            self.console_errors.append(message.text)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def offline_page(browser):
    """A watched page in a browser context of its own (its own cookies: another person) that
    reaches nothing but the local servers. Close it with `page.context.close()`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(("http://127.0.0.1", "blob:", "data:"))
            else route.abort()
        ),
    )
    page = context.new_page()
    page.watch = PageWatch(page)
    return page


@pytest.fixture
def page(browser):
    page = offline_page(browser)
    yield page
    page.context.close()


@pytest.fixture
def serve_app(tmp_path):
    """Start `labelkit serve PROJECT` (the real command) and return the app's URL."""
    started = []

    def start(project_path, *extra, port: int | None = None) -> str:
        port = port or free_port()  # a given port: links made for it beforehand
        log = open(tmp_path / f"voila-{port}.log", "w")  # noqa: SIM115 (closed at teardown)
        process = subprocess.Popen(
            [LABELKIT, "serve", str(project_path), "--port", str(port), *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((process, log))
        url = f"http://127.0.0.1:{port}/"
        wait_for_http(url, process)
        return url

    yield start
    for process, log in started:
        stop(process)
        log.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot for a person to look at (test artifact, not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on a folder of its own; returns (base URL, token, root folder)."""
    root = tmp_path / "lab"
    root.mkdir()
    port, token = free_port(), "labelkit-test-token"
    log = open(tmp_path / "jupyterlab.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("jupyter")),
            "lab",
            "--allow-root",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--ServerApp.open_browser=False",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/api/status?token={token}", process)
        yield base, token, root
    finally:
        stop(process)
        log.close()
