"""`labelkit serve`: the annotator app (notebooks/label.ipynb) served by Voila.

Voila runs in this process so that a few things can be set first: the project, database and
address the kernels will use (environment variables they inherit), TCP_NODELAY on every
connection (Jupyter's server leaves Nagle's algorithm on, which holds back small websocket
frames for up to ~40 ms when an annotator labels back to back), and a request log that leaves
access tokens out.

Anything but loopback is refused until access links are in force (the project has at least one
annotator account): without them anyone who reaches the port would label as the local user.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from importlib import resources
from pathlib import Path

from labelkit.errors import LabelkitError
from labelkit.ui.app import ANNOTATOR_VARIABLE, HOST_VARIABLE, PROJECT_VARIABLE

# The Voila apps `labelkit serve --app NAME` serves: name -> notebook in notebooks/.
APPS = {"label": "label.ipynb", "dashboard": "dashboard.ipynb", "review": "review.ipynb"}
DEFAULT_PORT = 8866
# The review app listens on a port of its own by default, so both apps run side by side and
# reviewers' links (labelkit annotators add --role reviewer) point at it.
APP_PORTS = {"review": 8867}


def default_port(app: str) -> int:
    return APP_PORTS.get(app, DEFAULT_PORT)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def voila_arguments(notebook: Path, host: str, port: int, cull_idle: int) -> list[str]:
    return [
        str(notebook),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        "--theme=light",
        # A closed tab leaves its kernel running: cull it once idle (and check every minute).
        f"--MappingKernelManager.cull_idle_timeout={cull_idle}",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=False",
    ]


def _no_delay_on_every_stream() -> None:
    from tornado.iostream import IOStream

    original_init = IOStream.__init__

    def init(self, socket, *args, **kwargs):
        original_init(self, socket, *args, **kwargs)
        with contextlib.suppress(OSError):  # not a TCP socket (a unix socket): nothing to do
            self.set_nodelay(True)

    IOStream.__init__ = init


def check_serving(project_path: str | Path, host: str, db_url: str | None = None) -> bool:
    """Open the project (failing here, clearly, rather than in every kernel) and refuse a
    non-loopback address unless access links are in force. Returns whether they are."""
    from labelkit.project import Project

    with Project.open(project_path, db_url=db_url) as project:
        links = project.annotators.links_in_force()
    if not links and not is_loopback(host):
        raise LabelkitError(
            f"refusing to serve on {host}: the project has no annotator accounts, so anyone "
            "on the network could label in your name. Add accounts first (labelkit annotators "
            "add PATH NAME) and send each annotator their link, or serve on 127.0.0.1."
        )
    return links


def serve(
    project_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8866,
    annotator: str | None = None,
    cull_idle: int = 600,
    db_url: str | None = None,
    app: str = "label",
) -> None:
    """Serve `app` (see APPS: the annotator app by default) for the project; blocks until
    stopped (Ctrl-C)."""
    from labelkit.project import DB_URL_VARIABLE

    if app not in APPS:
        raise LabelkitError(f"unknown app {app!r}; apps: {', '.join(APPS)}")
    path = Path(project_path).resolve()
    check_serving(path, host, db_url)
    os.environ[PROJECT_VARIABLE] = str(path)
    os.environ[HOST_VARIABLE] = host
    if db_url:
        os.environ[DB_URL_VARIABLE] = db_url  # the kernels inherit it; it stays out of the folder
    if annotator:
        os.environ[ANNOTATOR_VARIABLE] = annotator
    notebook = Path(str(resources.files("labelkit.notebooks") / APPS[app]))
    _no_delay_on_every_stream()
    from jupyter_server.log import log_request  # scrubs ?token=... from the request log
    from voila.app import Voila

    Voila.launch_instance(
        argv=voila_arguments(notebook, host, port, cull_idle),
        tornado_settings={"log_function": log_request},
    )
