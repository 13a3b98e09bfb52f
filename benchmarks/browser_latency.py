"""In-browser latency: submit key -> next item's text in the page, labelkit vs Label Studio.

    .venv/bin/python benchmarks/browser_latency.py [--items N] [--rounds 200] [--append-results]
                                                   [--ls-tasks 1000] [--no-label-studio]
                                                   [--no-floor]

In one run, Debian's chromium (driven by Playwright) labels, side by side:
- labelkit: a classification project of N items (default 1,000,000, built once with the
  Parquet import and cached in $TMPDIR/labelkit-bench-cache/, copied per run), served by the real
  `labelkit serve` on 127.0.0.1; a digit picks the label, Enter submits;
- Label Studio 1.23.2 (.venv-ls, tests/labelstudio_server.py): a project with the same Choices,
  `--ls-tasks` tasks of the same texts, logged in through its login form, labeled through its
  "Label All Tasks" stream; the choice's digit hotkey, then Ctrl+Enter submits;
- the floor: a bare Voila + anywidget page (no labelkit) doing one fsynced sqlite INSERT per
  submit and sending the next text, with TCP_NODELAY like `labelkit serve`.

Latency is measured in the page: from the submit key's keydown (`event.timeStamp`, a capture
listener on window) to the MutationObserver callback that sees the next item's text in the DOM
("in DOM"), and to the next animation frame ("next frame", what a person can see at the
earliest). Two modes, `--rounds` items each after warm-up: a 300 ms reading pause before the
keys, and back to back (keys as soon as the item is there). The systems alternate in blocks so
they share the machine's noise. Also: the Voila kernel's resident memory once the project is
open, and the time from navigation start to the first item's text.
Targets (issue 3): labelkit p50 <= 25 ms with the pause, <= 70 ms back to back; kernel < 200 MB;
first item < 3 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
import pyarrow.parquet as pq
from _common import (
    CACHE_DIR,
    DATA_VERSION,
    REPO,
    append_results,
    markdown_table,
    parquet_file,
)

sys.path.insert(0, str(REPO))
from tests.labelstudio_server import LabelStudioServer

LABELS = ["billing", "technical issue", "account", "feedback", "other"]
PAUSE_MS = 300
WARMUP = 10  # rounds per system and mode before timing (first-use code paths, JIT)
BLOCK = 25  # rounds per system before the next one takes its turn
RETRY_MS = 3000  # no new item this long after the submit key: press it again (counted)
TARGETS = {"pause": 25.0, "b2b": 70.0}
TARGET_RSS_MB = 200
TARGET_FIRST_S = 3.0
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

# Installed before any page script: records submit-key presses and each new item text.
PROBE_JS = r"""
(() => {
  const S = { selector: null, submit: null, last: null, press: null, records: [],
              waiter: null, firstAt: null, sent: null, received: null, sockets: [] };
  // Where the time goes on a websocket app (Voila): the first frame sent after the key, and
  // the last frame received before the new text.
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      S.sockets.push(String(args[0]));
      this.addEventListener("message", () => { S.received = performance.now(); });
    }
    send(data) {
      if (S.press !== null && S.sent === null) S.sent = performance.now();
      return super.send(data);
    }
  };
  const current = () => {
    const el = S.selector && document.querySelector(S.selector);
    return el ? el.textContent.trim() : "";
  };
  const deliver = () => {
    if (S.waiter && S.records.length) { const w = S.waiter; S.waiter = null; w(S.records.shift()); }
  };
  const check = () => {
    const text = current();
    if (!text || text === S.last) return;
    const rec = { text: text.slice(0, 80), dom: performance.now(), press: S.press, frame: null,
                  sent: S.sent, received: S.received };
    S.sent = null;
    if (S.firstAt === null) S.firstAt = rec.dom;
    S.last = text;
    S.press = null;
    requestAnimationFrame(() => { rec.frame = performance.now(); S.records.push(rec); deliver(); });
  };
  const watched = { subtree: true, childList: true, characterData: true };
  new MutationObserver(check).observe(document, watched);
  addEventListener("keydown", (e) => {
    if (!S.submit || e.key !== S.submit.key || e.ctrlKey !== S.submit.ctrl) return;
    if (S.press === null) S.press = e.timeStamp; // a repeated press keeps the first one's time
  }, true);
  window.__probe = {
    setup(selector, key, ctrl) { S.selector = selector; S.submit = { key, ctrl }; check(); },
    first: () => S.firstAt,
    sockets: () => S.sockets,
    text: current,
    clear() { S.records = []; S.press = null; S.sent = null; },
    next(ms) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => { S.waiter = null; resolve(null); }, ms);
        S.waiter = (rec) => { clearTimeout(timer); resolve(rec); };
        deliver();
      });
    },
  };
})();
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class Server:
    """A process in its own session; stop() ends it and every process it started (kernels run
    in sessions of their own, so they are found through psutil and ended by pid)."""

    def __init__(self, command: list[str], log: Path, env: dict | None = None):
        self.log = log.open("w")
        self.process = subprocess.Popen(
            command,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self.ps = psutil.Process(self.process.pid)

    def kernels(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.Error):
            return [
                p for p in self.ps.children(recursive=True) if "ipykernel" in " ".join(p.cmdline())
            ]
        return []

    def stop(self) -> None:
        family = []
        with contextlib.suppress(psutil.Error):
            family = self.ps.children(recursive=True)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for child in family:
            with contextlib.suppress(psutil.Error):
                child.kill()
        self.log.close()


# ---------------------------------------------------------------------------- the systems


@dataclass
class System:
    """One labeling app open in a page, with how to pick a label and submit there."""

    name: str
    page: object
    selector: str  # the element whose text is the item's text
    submit_key: str
    ctrl: bool
    label_key: str = "1"
    kernel: psutil.Process | None = None
    first_s: float | None = None
    rss_open_mb: float | None = None
    latencies: dict = field(default_factory=lambda: {"pause": [], "b2b": []})
    frames: dict = field(default_factory=lambda: {"pause": [], "b2b": []})
    repeats: dict = field(default_factory=lambda: {"pause": 0, "b2b": 0})
    # (key -> first frame sent, sent -> last frame received, received -> text in the DOM)
    parts: dict = field(default_factory=lambda: {"pause": [], "b2b": []})

    def wait_first(self, timeout_s: float = 60) -> None:
        page = self.page
        page.evaluate(
            "([s, k, c]) => __probe.setup(s, k, c)", [self.selector, self.submit_key, self.ctrl]
        )
        page.wait_for_function("() => __probe.first() !== null", timeout=timeout_s * 1000)
        self.first_s = page.evaluate("__probe.first()") / 1000
        page.evaluate("__probe.clear()")

    def round(self, mode: str, timed: bool) -> None:
        page = self.page
        page.evaluate("__probe.clear()")
        if mode == "pause":
            time.sleep(PAUSE_MS / 1000)
        page.keyboard.press(self.label_key)
        submit = f"Control+{self.submit_key}" if self.ctrl else self.submit_key
        page.keyboard.press(submit)
        record = None
        for _ in range(5):
            record = page.evaluate("ms => __probe.next(ms)", RETRY_MS)
            if record is not None:
                break
            self.repeats[mode] += timed  # the key did nothing: an annotator presses it again
            page.keyboard.press(self.label_key)
            page.keyboard.press(submit)
        if record is None or record["press"] is None:
            raise RuntimeError(f"{self.name}: no next item after the submit key ({record})")
        if timed:
            self.latencies[mode].append(record["dom"] - record["press"])
            self.frames[mode].append(record["frame"] - record["press"])
            if record["sent"] is not None and record["received"] is not None:
                press, sent, got, dom = (record[k] for k in ("press", "sent", "received", "dom"))
                self.parts[mode].append((sent - press, got - sent, dom - got))

    def rss_mb(self) -> float | None:
        if self.kernel is None:
            return None
        with contextlib.suppress(psutil.Error):
            return self.kernel.memory_info().rss / 1024**2
        return None


def new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Voila asks a CDN for fonts, Label Studio for analytics: nothing leaves the machine.
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(("http://127.0.0.1", "blob:", "data:"))
            else route.abort()
        ),
    )
    context.add_init_script(PROBE_JS)
    return context.new_page()


def the_kernel(server: Server, page) -> psutil.Process:
    """The kernel behind the page (the readiness probe's GET started one too): the one whose
    id is in the page's websocket URL."""
    urls = " ".join(page.evaluate("__probe.sockets()"))
    for kernel in server.kernels():
        connection_file = next((a for a in kernel.cmdline() if a.endswith(".json")), "")
        kernel_id = Path(connection_file).stem.removeprefix("kernel-")
        if kernel_id and kernel_id in urls:
            return kernel
    raise RuntimeError(f"no kernel of {server.process.args[0]} matches the page's sockets {urls}")


# labelkit --------------------------------------------------------------------


def store_fingerprint() -> str:
    """A hash of the store's DDL: a cached project built by other table code is not reused."""
    import hashlib

    import sqlalchemy as sa
    from sqlalchemy.dialects import sqlite

    from labelkit.store import tables

    ddl = [
        str(sa.schema.CreateTable(t).compile(dialect=sqlite.dialect()))
        for t in tables.metadata.sorted_tables
    ]
    ddl += [
        str(sa.schema.CreateIndex(i).compile(dialect=sqlite.dialect()))
        for t in tables.metadata.sorted_tables
        for i in sorted(t.indexes, key=lambda i: i.name)
    ]
    return hashlib.sha1("\n".join(ddl).encode()).hexdigest()[:10]


def cached_project(items: int) -> Path:
    """A classification project of `items` items, built once (Parquet import) and kept."""
    from labelkit import Project

    name = f"project-classification-v{DATA_VERSION}-{items}"
    path = CACHE_DIR / f"{name}-{store_fingerprint()}"
    if path.exists():
        return path
    for stale in CACHE_DIR.glob(f"{name}-*"):  # ~300 MB each: keep one per size
        shutil.rmtree(stale, ignore_errors=True)
    partial = path.with_name(path.name + ".partial")  # renamed when complete
    shutil.rmtree(partial, ignore_errors=True)
    source = parquet_file(items)
    start = time.perf_counter()
    with Project.create(partial, "classification") as project:
        project.import_items(source, id_column="id")
    partial.rename(path)
    print(f"built the {items:,}-item project in {time.perf_counter() - start:.0f} s (cached)")
    return path


def open_labelkit(browser, stack, tmp: Path, items: int) -> System:
    project = tmp / "project"
    shutil.copytree(cached_project(items), project)  # each run starts with no answers
    port = free_port()
    labelkit = str(Path(sys.executable).with_name("labelkit"))
    server = Server(
        [labelkit, "serve", str(project), "--port", str(port), "--annotator", "bench"],
        tmp / "labelkit-serve.log",
        env=os.environ | {"HOME": str(tmp / "home")},
    )
    stack.callback(server.stop)
    url = f"http://127.0.0.1:{port}/"
    wait_for_http(url, server.process)
    page = new_page(browser)
    stack.callback(page.context.close)
    system = System("labelkit", page, ".lk-field-text .lk-text", "Enter", ctrl=False)
    page.goto(url)
    system.wait_first()
    system.kernel = the_kernel(server, page)
    system.rss_open_mb = system.rss_mb()
    return system


# the floor: Voila + anywidget + sqlite3, nothing else ---------------------------

FLOOR_NOTEBOOK = textwrap.dedent('''
    import json, os, sqlite3, uuid
    import anywidget, traitlets

    texts = json.load(open(os.environ["FLOOR_TEXTS"]))
    db = sqlite3.connect(os.environ["FLOOR_DB"], isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("CREATE TABLE IF NOT EXISTS answers (id INTEGER PRIMARY KEY, item INTEGER,"
               " label TEXT, client_key TEXT UNIQUE)")

    class Floor(anywidget.AnyWidget):
        _esm = """
        export default { render({ model, el }) {
          const root = document.createElement("div");
          root.tabIndex = 0;
          const text = document.createElement("div");
          text.className = "floor-text";
          root.append(text);
          el.append(root);
          let label = null, busy = false;
          const paint = () => { text.textContent = model.get("text"); busy = false; };
          model.on("change:text", paint);
          paint();
          root.addEventListener("keydown", (e) => {
            if (/^[1-9]$/.test(e.key)) label = e.key;
            else if (e.key === "Enter" && label && !busy) {
              busy = true;
              model.send({ label, client_key: crypto.randomUUID() });
              label = null;
            }
          });
          const focus = () => (root.isConnected ? root.focus() : requestAnimationFrame(focus));
          focus();
          return () => model.off("change:text", paint);
        } };
        """
        text = traitlets.Unicode("").tag(sync=True)
        position = 0

        def __init__(self):
            super().__init__(text=texts[0])
            self.on_msg(self._submit)

        def _submit(self, _widget, content, _buffers):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO answers (item, label, client_key) VALUES (?, ?, ?)",
                       (self.position, content["label"], content["client_key"]))
            db.execute("COMMIT")  # fsync (synchronous=FULL)
            self.position += 1
            self.text = texts[self.position % len(texts)]

    Floor()
''')

# `labelkit serve` turns Nagle off on every socket; the floor gets the same, or it would only
# measure Nagle's 40 ms.
FLOOR_LAUNCHER = textwrap.dedent("""
    import sys
    from labelkit.serve import _no_delay_on_every_stream
    from voila.app import main
    _no_delay_on_every_stream()
    sys.argv = ["voila", *sys.argv[1:]]
    main()
""")


def open_floor(browser, stack, tmp: Path, texts: list[str]) -> System:
    import nbformat

    folder = tmp / "floor"
    folder.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FLOOR_NOTEBOOK)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, folder / "floor.ipynb")
    (folder / "texts.json").write_text(json.dumps(texts))
    port = free_port()
    env = os.environ | {
        "HOME": str(tmp / "home"),
        "FLOOR_TEXTS": str(folder / "texts.json"),
        "FLOOR_DB": str(folder / "floor.db"),
    }
    command = [sys.executable, "-c", FLOOR_LAUNCHER, str(folder / "floor.ipynb")]
    command += ["--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", "--theme=light"]
    server = Server(command, tmp / "floor-voila.log", env=env)
    stack.callback(server.stop)
    url = f"http://127.0.0.1:{port}/"
    wait_for_http(url, server.process)
    page = new_page(browser)
    stack.callback(page.context.close)
    system = System("floor: Voila + anywidget + sqlite", page, ".floor-text", "Enter", ctrl=False)
    page.goto(url)
    system.wait_first()
    system.kernel = the_kernel(server, page)
    system.rss_open_mb = system.rss_mb()
    return system


# Label Studio -------------------------------------------------------------------


def label_config() -> str:
    choices = "\n".join(
        f'    <Choice value="{label}" hotkey="{i}"/>' for i, label in enumerate(LABELS, 1)
    )
    return (
        '<View>\n  <Text name="text" value="$text"/>\n'
        '  <Choices name="label" toName="text" choice="single-radio" showInline="true">\n'
        f"{choices}\n  </Choices>\n</View>"
    )


def open_label_studio(browser, stack, tmp: Path, texts: list[str]) -> System:
    from label_studio_sdk import LabelStudio

    server = LabelStudioServer(tmp / "label-studio")
    stack.callback(server.cleanup)
    start = time.perf_counter()
    server.start(timeout=600)  # a fresh data dir runs its migrations: minutes on a busy machine
    print(f"Label Studio up in {time.perf_counter() - start:.0f} s")
    client = LabelStudio(base_url=server.url, api_key=server.token)
    project = client.projects.create(title="latency", label_config=label_config())
    for first in range(0, len(texts), 1000):
        batch = [{"text": text} for text in texts[first : first + 1000]]
        client.projects.import_tasks(id=project.id, request=batch)

    page = new_page(browser)
    stack.callback(page.context.close)
    page.goto(f"{server.url}/user/login/")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", server.password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda url: "/user/login" not in url)  # logged in: its home page
    page.goto(f"{server.url}/projects/{project.id}/data")
    system = System("Label Studio", page, LS_TEXT_SELECTOR, "Enter", ctrl=True)
    button = page.get_by_text("Label All Tasks")
    button.wait_for()
    page.evaluate("([s, k, c]) => __probe.setup(s, k, c)", [LS_TEXT_SELECTOR, "Enter", True])
    clicked = page.evaluate("performance.now()") / 1000
    button.click()
    system.wait_first()
    system.first_s -= clicked  # from the "Label All Tasks" click (a page already open)
    return system


LS_TEXT_SELECTOR = ".lsf-htx-richtext"


# ---------------------------------------------------------------------------- running


def run(systems: list[System], rounds: int) -> None:
    from tqdm import tqdm

    for mode in ("pause", "b2b"):
        for system in systems:
            for _ in range(WARMUP):
                system.round(mode, timed=False)
        with tqdm(total=rounds * len(systems), desc=f"{mode} rounds", unit=" items") as bar:
            for start in range(0, rounds, BLOCK):
                for system in systems:
                    for _ in range(min(BLOCK, rounds - start)):
                        system.round(mode, timed=True)
                        bar.update()


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def report(systems: list[System], args, rss_after: dict) -> str:
    kit = systems[0]
    headers = [
        f"{args.rounds} items per mode",
        "pause p50 ms",
        "pause p95",
        "b2b p50 ms",
        "b2b p95",
        "next frame p50 (pause / b2b)",
        "kernel RSS MB (open / end)",
        "first item s",
    ]
    rows = []
    for s in systems:
        lat, frm = s.latencies, s.frames
        rss_end = rss_after.get(s.name)
        rows.append(
            [
                s.name,
                f"{pct(lat['pause'], 50):.1f}",
                f"{pct(lat['pause'], 95):.1f}",
                f"{pct(lat['b2b'], 50):.1f}",
                f"{pct(lat['b2b'], 95):.1f}",
                f"{pct(frm['pause'], 50):.1f} / {pct(frm['b2b'], 50):.1f}",
                "" if s.rss_open_mb is None else f"{s.rss_open_mb:.0f} / {rss_end:.0f}",
                "" if s.first_s is None else f"{s.first_s:.2f}",
            ]
        )
    for other in systems[1:]:
        ratio = [
            f"**labelkit / {other.name.split(':')[0]}**",
            *(
                f"**{pct(kit.latencies[m], q) / pct(other.latencies[m], q):.2f}x**"
                for m in ("pause", "b2b")
                for q in (50, 95)
            ),
            "",
            "",
            "",
        ]
        rows.append(ratio)
    table = markdown_table(headers, rows)
    repeats = {s.name: s.repeats for s in systems if any(s.repeats.values())}
    checks = [
        ("p50 with the pause", pct(kit.latencies["pause"], 50), TARGETS["pause"], "ms"),
        ("p50 back to back", pct(kit.latencies["b2b"], 50), TARGETS["b2b"], "ms"),
        ("kernel RSS", kit.rss_open_mb, TARGET_RSS_MB, "MB"),
        ("first item", kit.first_s, TARGET_FIRST_S, "s"),
    ]
    verdict = "Targets: " + "; ".join(
        f"{what} <= {target:g} {unit}: **{'met' if value <= target else 'MISSED'}** "
        f"({value:.1f} {unit})"
        for what, value, target, unit in checks
    )
    notes = [
        f"labelkit: {args.items:,} items; Label Studio: {args.ls_tasks:,} tasks. "
        f"Latency = submit keydown to the next item's text in the DOM (MutationObserver); "
        f"next frame = to the following requestAnimationFrame. First item: from navigation start "
        "(Voila pages); Label Studio: from the Label All Tasks click in its open data manager. "
        f"Pause: {PAUSE_MS} ms between the item showing and the label key.",
    ]
    for s in systems:
        if s.parts["pause"]:
            split = {m: np.median(np.array(s.parts[m]), axis=0) for m in ("pause", "b2b")}
            notes.append(
                f"{s.name}, where the p50 goes (key -> websocket send / -> last frame "
                "received / -> text in the DOM, ms): "
                + "; ".join(f"{m} " + " / ".join(f"{v:.1f}" for v in split[m]) for m in split)
                + "."
            )
    if repeats:
        notes.append(f"Submit keys that did nothing and were pressed again: {repeats}.")
    return table + "\n\n" + verdict + "\n\n" + "\n".join(notes)


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--items", type=int, default=1_000_000, help="labelkit items (%(default)s)")
    cli.add_argument("--rounds", type=int, default=200, help="timed items per mode (%(default)s)")
    cli.add_argument("--ls-tasks", type=int, default=1000, help="Label Studio tasks (%(default)s)")
    cli.add_argument("--no-label-studio", action="store_true", help="skip Label Studio")
    cli.add_argument("--no-floor", action="store_true", help="skip the Voila + anywidget floor")
    cli.add_argument("--append-results", action="store_true", help="append to RESULTS.md")
    args = cli.parse_args()
    needed = 2 * (WARMUP + args.rounds) + 20
    if args.items < needed or (not args.no_label_studio and args.ls_tasks < needed):
        cli.error(f"--items and --ls-tasks must be at least {needed} (each round uses an item)")

    # SIGTERM (a killed job) unwinds like Ctrl-C, so every server and browser is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from playwright.sync_api import sync_playwright

    cached_project(args.items)  # before any server starts, so a first build runs alone
    texts = pq.read_table(parquet_file(args.items), columns=["text"]).column("text")
    texts = texts.slice(0, max(args.ls_tasks, needed)).to_pylist()
    # Unwound in reverse: pages, browser and servers first, then Playwright, then the files.
    with (
        tempfile.TemporaryDirectory(prefix="labelkit-browser-bench-") as tmp,
        sync_playwright() as playwright,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp)
        (tmp / "home").mkdir()
        executable = shutil.which("chromium")
        if executable is None:
            sys.exit("Debian's chromium is not installed (scripts/setup.sh --test installs it)")
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        stack.callback(browser.close)
        systems = [open_labelkit(browser, stack, tmp, args.items)]
        kit = systems[0]
        print(f"labelkit: first item {kit.first_s:.2f} s, kernel {kit.rss_open_mb:.0f} MB")
        if not args.no_floor:
            systems.append(open_floor(browser, stack, tmp, texts))
        if not args.no_label_studio:
            systems.append(open_label_studio(browser, stack, tmp, texts[: args.ls_tasks]))
        run(systems, args.rounds)
        rss_after = {s.name: s.rss_mb() for s in systems}
        body = report(systems, args, rss_after)
    print()
    print(body)
    if args.append_results:
        append_results("browser_latency", body)


if __name__ == "__main__":
    main()
