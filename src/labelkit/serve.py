"""`labelkit serve`: the annotator app (notebooks/label.ipynb) served by Voila.

Voila runs in this process so that two things can be set first: the project and annotator the
kernels will open (environment variables they inherit), and TCP_NODELAY on every connection.
Jupyter's server leaves Nagle's algorithm on, which holds back small websocket frames for up to
~40 ms when an annotator labels back to back.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import sys
from importlib import resources
from pathlib import Path

from labelkit.errors import LabelkitError
from labelkit.ui.app import ANNOTATOR_VARIABLE, PROJECT_VARIABLE


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


def serve(
    project_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8866,
    annotator: str | None = None,
    cull_idle: int = 600,
) -> None:
    """Serve the annotator app for the project; blocks until stopped (Ctrl-C)."""
    from labelkit.project import Project

    if not is_loopback(host):
        raise LabelkitError(
            f"refusing to serve on {host}: without access links anyone on the network could "
            "label as you. Serve on 127.0.0.1 (the default)."
        )
    path = Path(project_path).resolve()
    Project.open(path).close()  # fail here, clearly, rather than in every kernel
    os.environ[PROJECT_VARIABLE] = str(path)
    if annotator:
        os.environ[ANNOTATOR_VARIABLE] = annotator
    notebook = Path(str(resources.files("labelkit.notebooks") / "label.ipynb"))
    _no_delay_on_every_stream()
    from voila.app import main

    sys.argv = ["voila", *voila_arguments(notebook, host, port, cull_idle)]
    main()
