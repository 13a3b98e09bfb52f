"""The annotator app that notebooks/label.ipynb shows (in Voila or JupyterLab).

`labelkit serve` tells the kernel which project to open through environment variables; the
annotator is decided here, in the kernel, never by the page.
"""

from __future__ import annotations

import getpass
import os

PROJECT_VARIABLE = "LABELKIT_PROJECT"
ANNOTATOR_VARIABLE = "LABELKIT_ANNOTATOR"


def annotator_app(project_path: str | None = None):
    """The labeling session for the served project (or `project_path`), ready to display."""
    from labelkit.project import Project

    path = project_path or os.environ.get(PROJECT_VARIABLE)
    if not path:
        raise RuntimeError(
            f"no project: run `labelkit serve PATH`, or set {PROJECT_VARIABLE} to a project folder"
        )
    project = Project.open(path)
    annotator = os.environ.get(ANNOTATOR_VARIABLE) or getpass.getuser()
    return project.label(annotator=annotator)
