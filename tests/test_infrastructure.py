"""Tests of the test infrastructure itself: fixtures in conftest.py and environment.yml."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import psycopg
import pytest
import yaml
from packaging.specifiers import SpecifierSet
from sqlalchemy import create_engine, inspect, text

ROOT = Path(__file__).resolve().parent.parent

# Databases handed out by postgres_url in earlier tests of this module.
_seen_databases: list[str] = []


def test_home_is_temporary(tmp_path_factory: pytest.TempPathFactory) -> None:
    home = Path(os.environ["HOME"])
    assert home.is_relative_to(tmp_path_factory.getbasetemp())
    assert Path.home() == home


@pytest.mark.postgres
def test_postgres_runs_queries(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://labelkit@127.0.0.1:")
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            version = conn.execute(text("select version()")).scalar_one()
            assert version.startswith("PostgreSQL ")
            conn.execute(text("create table item (id integer primary key, label text not null)"))
            conn.execute(
                text("insert into item (id, label) values (:id, :label)"),
                [{"id": 1, "label": "chat ✓"}, {"id": 2, "label": "négatif"}],
            )
        with engine.connect() as conn:
            rows = conn.execute(text("select id, label from item order by id")).all()
        assert [tuple(row) for row in rows] == [(1, "chat ✓"), (2, "négatif")]
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("run", ["first", "second"])
def test_postgres_databases_are_isolated(run: str, postgres_url: str, postgres_server) -> None:
    # Whichever run comes second would see the table if the database were shared.
    engine = create_engine(postgres_url)
    try:
        assert not inspect(engine).has_table("marker")
        with engine.begin() as conn:
            conn.execute(text("create table marker (run text)"))
            conn.execute(text("insert into marker values (:run)"), {"run": run})
    finally:
        engine.dispose()

    # Databases of earlier tests are dropped, and this one is new.
    dbname = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_server.conninfo()) as conn:
        existing = {row[0] for row in conn.execute("select datname from pg_database")}
    assert dbname in existing
    assert dbname not in _seen_databases
    assert existing.isdisjoint(_seen_databases)
    _seen_databases.append(dbname)


def test_db_url(db_url: str | None, request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.id
    if backend == "sqlite":
        assert db_url is None
    else:
        assert backend == "postgresql"
        assert request.node.get_closest_marker("postgres") is not None
        assert db_url is not None and db_url.startswith("postgresql+psycopg://")


def _conda_python_version(spec: str) -> str | None:
    """'python=3.11' / 'python==3.11.9' / 'python 3.11' -> the version; None for other packages."""
    match = re.fullmatch(r"python\s*(?:==?|\s)\s*([0-9][0-9.]*)(?:\.\*)?", spec.strip())
    return match.group(1) if match else None


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    expected = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] == "labelkit"

    deps = env["dependencies"]
    pip_lists = [dep["pip"] for dep in deps if isinstance(dep, dict) and "pip" in dep]
    assert len(pip_lists) == 1, "environment.yml needs exactly one `pip:` list"
    assert "pip" in deps, "environment.yml must install pip for its `pip:` list"
    # Sorted lists, not sets, so a duplicate on either side also shows up.
    assert sorted(pip_lists[0]) == sorted(expected), (
        "environment.yml's pip list must equal pyproject.toml's dependencies + the test extra"
    )

    versions = [v for dep in deps if isinstance(dep, str) and (v := _conda_python_version(dep))]
    assert len(versions) == 1, "environment.yml must pin python once, e.g. `python=3.11`"
    requires_python = SpecifierSet(project["requires-python"])
    assert requires_python.contains(versions[0]), (
        f"environment.yml has python {versions[0]}, pyproject requires {requires_python}"
    )


def test_every_subpackage_is_packaged() -> None:
    """pyproject lists packages by hand (widgets/ and notebooks/ map into labelkit): a new
    subpackage missing from the list would be left out of a wheel."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    source = ROOT / "src" / "labelkit"
    found = {
        ".".join(("labelkit", *init.parent.relative_to(source).parts))
        for init in source.rglob("__init__.py")
    }
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"
