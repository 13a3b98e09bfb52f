"""The Python side of the widgets: sessions (what to show) and anywidget views."""

from labelkit.ui.session import LabelSession
from labelkit.ui.widget import DEFAULT_KEYMAP, LabelWidget

__all__ = ["DEFAULT_KEYMAP", "LabelSession", "LabelWidget"]
