"""Label Studio: labeling configs <-> schemas, answers <-> results, and two-way sync.

- `config`: a labelkit `Schema` as a Label Studio labeling config (XML), and back.
- `convert`: a labelkit answer as Label Studio result regions, and back.
- `sync`: push items and answers, pull annotations, link an existing project; resumable.

Nothing here imports `label_studio_sdk` at import time (it is slow to import).
"""

from labelkit.labelstudio.config import ConfigError, LabelConfig, schema_to_config
from labelkit.labelstudio.sync import LabelStudioError, SyncReport, link_project, sync_project

__all__ = [
    "ConfigError",
    "LabelConfig",
    "LabelStudioError",
    "SyncReport",
    "link_project",
    "schema_to_config",
    "sync_project",
]
