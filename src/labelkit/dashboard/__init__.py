"""The team dashboard: figures (plain data, also `labelkit stats --json`), their plots, and
the Voila app notebooks/dashboard.ipynb shows to admins."""

from labelkit.dashboard.figures import project_figures

__all__ = ["project_figures"]
