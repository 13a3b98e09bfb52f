"""Label storage: SQLAlchemy Core tables and queries, SQLite by default, PostgreSQL by URL."""

from labelkit.store.store import Annotation, Item, Store, sqlite_url

__all__ = ["Annotation", "Item", "Store", "sqlite_url"]
