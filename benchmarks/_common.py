"""Shared pieces of the benchmark scripts: test data, peak memory, tables, RESULTS.md.

Not a benchmark itself; the scripts next to it import it (they run with benchmarks/ on sys.path).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import sqlite3
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "RESULTS.md"
# Generated Parquet files are kept here between runs (bump DATA_VERSION when the generator
# changes, so stale files are not reused).
CACHE_DIR = Path(tempfile.gettempdir()) / "labelkit-bench-cache"
DATA_VERSION = 1
ROW_GROUP = 100_000
LOAD_AT_START = os.getloadavg()[0]  # other work on the machine skews every figure: record it

# The same connection settings as labelkit.store.store.make_engine, for the bare-sqlite3 floors.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)

# Words of support-ticket-ish sentences; a few accented ones so the UTF-8 path is exercised.
_WORD_LIST = """
    i my the a an our your this that it is was has have not cannot could would please help
    account invoice payment card refund order subscription plan password login email address
    charged twice yesterday today last week month since after before again still never always
    error message screen page app website browser phone update version crash slow broken
    working delivery package tracking number support ticket agent reply waiting hours days
    cancel upgrade downgrade renew change reset verify confirm receive send show open close
    thanks thank you hello hi regards urgent issue problem question feedback great terrible
    love hate feature request dark mode export import file report data sync settings profile
    café naïve résumé Müller straße façade jalapeño über coöperate déjà vu
"""
WORDS = np.array(_WORD_LIST.split())
LANGUAGES = np.array(["en", "de", "fr", "es", "pt", "it", "nl", "ja"])
LANGUAGE_WEIGHTS = np.array([0.55, 0.1, 0.1, 0.1, 0.05, 0.04, 0.03, 0.03])


def parser(description: str, default_rows: int) -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(description=description)
    cli.add_argument("--rows", type=int, default=default_rows, help="rows / items (%(default)s)")
    cli.add_argument(
        "--append-results", action="store_true", help=f"append the table to {RESULTS.name}"
    )
    return cli


# ---------------------------------------------------------------------------- data


def _texts(rng: np.random.Generator, n: int) -> list[str]:
    """n sentences of 60-200 characters, random words (vectorised picks, one join per row)."""
    counts = rng.integers(7, 30, size=n)
    words = WORDS[rng.integers(0, len(WORDS), size=int(counts.sum()))].tolist()
    numbers = rng.integers(1000, 999_999, size=n).tolist()
    texts, start = [], 0
    for count, number in zip(counts.tolist(), numbers, strict=True):
        text = " ".join(words[start : start + count])
        start += count
        text = f"{text[:1].upper()}{text[1:]} (ref {number})."
        if len(text) < 60:
            text += " Please get back to me as soon as you can."
        if len(text) > 200:
            text = text[: text.rfind(" ", 0, 199)] + "."
        texts.append(text)
    return texts


def parquet_file(rows: int, seed: int = 0) -> Path:
    """A classification Parquet file (id, text, language) of `rows` rows, cached between runs."""
    path = CACHE_DIR / f"classification-v{DATA_VERSION}-{rows}-s{seed}.parquet"
    if path.exists():
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")  # renamed when complete: no half file is ever reused
    rng = np.random.default_rng(seed)
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("language", pa.string())])
    with pq.ParquetWriter(partial, schema) as writer:
        for start in range(0, rows, ROW_GROUP):
            n = min(ROW_GROUP, rows - start)
            languages = rng.choice(LANGUAGES, size=n, p=LANGUAGE_WEIGHTS)
            group = {
                "id": [f"doc-{i:08d}" for i in range(start, start + n)],
                "text": _texts(rng, n),
                "language": languages.tolist(),
            }
            writer.write_table(pa.table(group, schema=schema))  # one row group per call
    partial.rename(path)
    return path


# ---------------------------------------------------------------------------- measuring


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    VmHWM, not getrusage's ru_maxrss: on Linux ru_maxrss survives exec, so a child started by a
    big parent (subprocess uses vfork) would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # not Linux: ru_maxrss is in bytes on macOS

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def sqlite_connect(path: Path) -> sqlite3.Connection:
    """A bare sqlite3 connection set up like labelkit's (autocommit; explicit BEGIN/COMMIT)."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn


# ---------------------------------------------------------------------------- reporting


def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def command_line() -> str:
    """The command as typed from the repository root (venv python, relative paths)."""
    python = Path(sys.executable)
    if python.is_relative_to(REPO):
        python = python.relative_to(REPO)
    script = Path(sys.argv[0]).resolve()
    return shlex.join([str(python), str(script.relative_to(REPO)), *sys.argv[1:]])


def append_results(title: str, body: str) -> None:
    """Append a dated section (machine, versions, command, `body`) to RESULTS.md."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = models[0] if models else platform.processor() or "?"
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import sqlalchemy

    section = [
        f"## {title}: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        "",
        f"- machine: nproc {nproc}, {cpu}, load average {LOAD_AT_START:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"pyarrow {pa.__version__}, SQLAlchemy {sqlalchemy.__version__}",
        f"- command: `{command_line()}`",
        "",
        body.rstrip(),
        "",
        "",
    ]
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write("\n".join(section))
    print(f"appended to {RESULTS.relative_to(REPO)}")


def time_and_memory_verdict(ratio: float, target_ratio: float, rss_mb: float, target_mb: float):
    """The one-line verdict of a benchmark with a wall-time ratio and a peak-RSS target."""
    return (
        f"Targets: wall within {target_ratio:.0f}x of the floor: "
        f"**{'met' if ratio <= target_ratio else 'MISSED'}** ({ratio:.2f}x); "
        f"peak RSS under {target_mb} MB: "
        f"**{'met' if rss_mb < target_mb else 'MISSED'}** ({rss_mb:.0f} MB)."
    )


def report(title: str, table: str, verdict: str, append: bool) -> None:
    """Print the table and verdict; with `append`, add them to RESULTS.md."""
    print(f"\n{table}\n\n{verdict}")
    if append:
        append_results(title, table + "\n\n" + verdict)
