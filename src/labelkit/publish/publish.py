"""Write a hub-ready folder (parquet shards per view and split, README.md card) and push it.

Layout: ``<view>/<split>-00000-of-00002-<digest>.parquet`` ..., ``README.md`` whose `configs`
map each view to its shards (the first is the default), and ``labelkit-schema.json`` (the
schema, so the folder can seed a new project). Rows stream from the view, are encoded a batch at
a time (encode.py) and written by datasets' ParquetWriter (the typed features travel in the
parquet metadata). The folder is built beside OUT and renamed into place at the end: an
interrupted run leaves the previous release intact.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from datasets.arrow_writer import ParquetWriter
from tqdm.auto import tqdm

from labelkit.errors import LabelkitError
from labelkit.publish.card import CardOptions, LabelStats, card_agreement, card_text
from labelkit.publish.encode import BatchEncoder
from labelkit.publish.rows import Filters
from labelkit.publish.splits import Splits, split_order
from labelkit.publish.views import VIEW_OPTIONS, View, make_view, views_for

if TYPE_CHECKING:
    from labelkit.project import Project

# The project's schema: marks the folder as a labelkit release (safe to replace) and seeds a new
# project: Project.create(path, "<folder>/labelkit-schema.json").
MARKER = "labelkit-schema.json"
SHARD_ROWS = 200_000  # rows per parquet file
ENCODE_ROWS = 5_000  # rows encoded and written at once


@dataclass
class PublishReport:
    folder: Path
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # view -> split -> rows
    pushed_to: str | None = None
    empty: list[str] = field(default_factory=list)  # views left out: no rows yet

    def __str__(self) -> str:
        parts = [
            f"{view} ({', '.join(f'{split}: {n}' for split, n in splits.items())})"
            for view, splits in self.rows.items()
            if splits
        ]
        text = f"published {'; '.join(parts)} to {self.folder}"
        if self.empty:
            text += f" (left out, no rows yet: {', '.join(self.empty)})"
        return text + (f" and pushed to {self.pushed_to}" if self.pushed_to else "")


def publish(
    project: Project,
    out: str | Path,
    *,
    views: list[str] | None = None,
    split: str | dict[str, float] | None = None,
    split_by: str | None = None,
    seed: int = 0,
    include_gold: bool = False,
    include_rejected: bool = False,
    card: CardOptions | None = None,
    push_to: str | None = None,
    private: bool = False,
    token: str | None = None,
    progress: bool = True,
    shard_rows: int = SHARD_ROWS,
    **options,
) -> PublishReport:
    """Publish `views` (default: every view the schema supports) of the project to folder `out`,
    then, with `push_to` ("user/name"), upload it as a Hub dataset repository. `options` go to
    the views that take them (per, keep_ties, method, question)."""
    out = Path(out)
    _check_target(out)
    filters = Filters(include_gold=include_gold, include_rejected=include_rejected)
    splits = Splits.parse(split, by=split_by, seed=seed)
    names = list(dict.fromkeys(views or views_for(project.schema)))
    shapes = [_view(project, name, filters, options) for name in names]

    building = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    building.mkdir(parents=True)
    report = PublishReport(out)
    try:
        stats = LabelStats(project.schema)
        shapes[0].record_hook = stats.add  # the card's figures, counted on the first pass
        configs = []
        for shape in shapes:
            written = write_view(shape, building, splits, shard_rows, progress)
            report.rows[shape.name] = {name: rows for name, (rows, _) in written.items()}
            # datasets cannot load a split without rows: only splits with rows are announced.
            data_files = [{"split": name, "path": files} for name, (_, files) in written.items()]
            if data_files:
                configs.append({"config_name": shape.name, "data_files": data_files})
            else:
                report.empty.append(shape.name)
        if not configs:
            raise LabelkitError(f"nothing to publish: {', '.join(report.empty)} have no rows")
        configs[0]["default"] = True
        consensus = next((s for s in shapes if s.name == "consensus"), None)
        text = card_text(
            project.schema,
            configs,
            {shape.name: shape.describe() for shape in shapes},
            stats,
            card or CardOptions(),
            agreement=card_agreement(project, include_gold),
            consensus_note=consensus and consensus_method_note(consensus.method),
        )
        (building / "README.md").write_text(text, encoding="utf-8")
        project.schema.save(building / MARKER)
        _replace(building, out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    if push_to:
        push(out, push_to, private=private, token=token)
        report.pushed_to = push_to
    return report


def _view(project: Project, name: str, filters: Filters, options: dict) -> View:
    if name not in VIEW_OPTIONS:
        raise LabelkitError(f"unknown view {name!r}; views: {', '.join(VIEW_OPTIONS)}")
    own = {k: v for k, v in options.items() if k in VIEW_OPTIONS[name]}
    return make_view(project, name, filters, **own)


def write_view(
    shape: View, folder: Path, splits: Splits, shard_rows: int = SHARD_ROWS, progress=True
) -> dict[str, tuple[int, list[str]]]:
    """Stream a view into ``folder/<view>/<split>-NNNNN-of-MMMMM-<digest>.parquet``; per split
    the rows written and the files (relative to `folder`)."""
    target = folder / shape.name
    target.mkdir()
    encoder = BatchEncoder(shape.features)
    shards: dict[str, _Shards] = {}
    bar = tqdm(
        total=shape.estimated_rows(),
        unit=" rows",
        desc=f"publish {shape.name}",
        disable=not progress,
    )
    try:
        for row in shape.rows():
            split = splits.of(row)
            if split not in shards:
                shards[split] = _Shards(target, split, shape.features, encoder, shard_rows)
            shards[split].add(row)
            bar.update()
        for split_shards in shards.values():
            split_shards.close()
        if not shards:
            target.rmdir()
    finally:
        for split_shards in shards.values():
            split_shards.abandon()
        bar.close()
    written = {}
    for split in sorted(shards, key=split_order):
        files = [f"{shape.name}/{name}" for name in shards[split].name_files()]
        written[split] = (shards[split].rows, files)
    return written


class _Shards:
    """The parquet files of one split, rows encoded and written a batch at a time."""

    def __init__(self, folder: Path, split: str, features, encoder: BatchEncoder, per_file: int):
        self.folder, self.split, self.features = folder, split, features
        self.encoder, self.per_file = encoder, per_file
        self.paths: list[Path] = []
        self.writer: ParquetWriter | None = None
        self.batch: list[dict] = []
        self.rows = self.in_file = 0

    def add(self, row: dict) -> None:
        self.batch.append(row)
        self.rows += 1
        if len(self.batch) >= ENCODE_ROWS or self.in_file + len(self.batch) >= self.per_file:
            self._flush()

    def _flush(self) -> None:
        if self.writer is None or self.in_file >= self.per_file:
            self._finish_file()
            path = self.folder / f"{self.split}-{len(self.paths):05d}.parquet"
            self.paths.append(path)
            # embed_local_files: an image given by local path travels as bytes.
            self.writer = ParquetWriter(
                features=self.features, path=str(path), embed_local_files=True
            )
            self.in_file = 0
        if self.batch:
            self.writer.write_table(self.encoder.table(self.batch))
            self.in_file += len(self.batch)
            self.batch = []

    def _finish_file(self) -> None:
        if self.writer is not None:
            self.writer.finalize()
            self.writer.close()
            self.writer = None

    def close(self) -> None:
        if self.batch:
            self._flush()
        self._finish_file()

    def abandon(self) -> None:
        if self.writer is not None:  # after an error: release the file (the folder goes)
            self.writer.close()
            self.writer = None

    def name_files(self) -> list[str]:
        """Give the files their final names; the content's digest is in each: datasets
        caches a local folder's load by the file names of its card, so a changed release
        must change them."""
        names = []
        for path in self.paths:
            named = path.with_name(f"{path.stem}-of-{len(self.paths):05d}-{_digest(path)}.parquet")
            path.rename(named)
            names.append(named.name)
        return names


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()[:12]


def _check_target(out: Path) -> None:
    """Replace only an earlier release: never a user's folder that happens to be there."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise LabelkitError(f"{out} exists and is not a labelkit release; choose another folder")


def _replace(building: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    if out.exists():
        out.rename(old)
    building.rename(out)
    shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------ the card's consensus line


def consensus_method_note(method: str) -> str:
    return (
        f"`labelkit.quality.consensus` with method `{method}`, per item and question, over the "
        "annotators' current submitted answers (hidden gold items and rejected answers left "
        "out). `<question>_confidence` is the confidence it gives (0–1), `<question>_n` the "
        "number of answers it used."
    )


# ---------------------------------------------------------------------------- the Hub


def push(folder: Path, repo_id: str, *, private: bool = False, token: str | None = None):
    """Upload a published folder as the dataset repository `repo_id` (created when missing)."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type="dataset",
            commit_message="Publish labels with labelkit",
        )
    except Exception as exc:  # the Hub's errors (auth, network, names) come in many types
        raise LabelkitError(
            f"push to {repo_id} failed ({type(exc).__name__}: {exc}); {folder} is complete, "
            "push it again later"
        ) from exc
