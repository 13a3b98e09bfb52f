"""Categorical aggregation of crowd answers: majority vote, Dawid-Skene and one-coin
Dawid-Skene (EM), each optionally anchored on gold items.

The classes follow crowd-kit's shape (`fit(data)` / `fit_predict(data)` on a tidy table with
columns `task`, `worker`, `label`; results in `labels_`, `probas_`, ...) so results compare
one to one, but the arithmetic is vectorized numpy over integer codes: one EM iteration is a
handful of `np.bincount` calls over the answers, whatever the number of workers.

Gold anchoring: pass `gold` (task -> true label); those tasks keep a one-hot posterior in every
iteration, so they calibrate the workers' confusion matrices instead of being estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from labelkit.errors import LabelkitError

# Probabilities are floored before taking logs: a worker who never gave label l for class k
# must not veto class k forever (log 0) on one answer.
_FLOOR = 1e-12


@dataclass
class Encoded:
    """The tidy table as integer codes: tasks, workers and labels index into the arrays."""

    task: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    tasks: pd.Index
    workers: pd.Index
    labels: pd.Index

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.tasks), len(self.workers), len(self.labels)

    @cached_property
    def cell(self) -> np.ndarray:
        """worker * K + label per answer: the row of a (workers * K) table."""
        return self.worker * len(self.labels) + self.label

    @cached_property
    def by_task(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Task and cell codes of the answers ordered by task, and where each task's run
        starts (every task has at least one answer)."""
        order = np.argsort(self.task, kind="stable")
        task = self.task[order]
        return task, self.cell[order], _run_starts(task)


def _run_starts(sorted_codes: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])


def encode(data: pd.DataFrame, labels=None) -> Encoded:
    """Codes for a (task, worker, label) table. `labels` fixes the label order (for example
    the schema's); otherwise labels are sorted, as crowd-kit does."""
    missing = {"task", "worker", "label"} - set(data.columns)
    if missing:
        raise LabelkitError(f"the answers need the columns task, worker, label; missing {missing}")
    task_codes, tasks = pd.factorize(data["task"], sort=True)
    worker_codes, workers = pd.factorize(data["worker"], sort=True)
    if labels is None:
        label_codes, label_index = pd.factorize(data["label"], sort=True)
    else:
        label_index = pd.Index(list(labels))
        label_codes = label_index.get_indexer(data["label"])
        if (label_codes < 0).any():
            unknown = sorted(set(data["label"][label_codes < 0].astype(str)))[:5]
            raise LabelkitError(f"labels {unknown} are not among {list(label_index)}")
    if (task_codes < 0).any() or (worker_codes < 0).any() or (label_codes < 0).any():
        raise LabelkitError("the answers have empty task, worker or label values")
    return Encoded(task_codes, worker_codes, label_codes, tasks, workers, label_index)


def vote_counts(enc: Encoded, weights: np.ndarray | None = None) -> np.ndarray:
    """(tasks x labels) matrix of (weighted) votes."""
    n_tasks, _, n_labels = enc.shape
    flat = np.bincount(
        enc.task * n_labels + enc.label, weights=weights, minlength=n_tasks * n_labels
    )
    return flat.reshape(n_tasks, n_labels).astype(float)


def _gold_codes(enc: Encoded, gold) -> tuple[np.ndarray, np.ndarray]:
    """Task codes and label codes of the gold items that appear in the answers."""
    if gold is None or len(gold) == 0:
        return np.empty(0, int), np.empty(0, int)
    gold = pd.Series(gold)
    task_codes = enc.tasks.get_indexer(gold.index)
    label_codes = enc.labels.get_indexer(gold.values)
    if (label_codes[task_codes >= 0] < 0).any():
        raise LabelkitError("a gold answer is not one of the labels")
    keep = task_codes >= 0
    return task_codes[keep], label_codes[keep]


def _pin_gold(probas: np.ndarray, gold_tasks: np.ndarray, gold_labels: np.ndarray) -> None:
    if len(gold_tasks):
        probas[gold_tasks] = 0.0
        probas[gold_tasks, gold_labels] = 1.0


class _Aggregator:
    """Shared results: `labels_` (task -> label), `probas_` (task x label posterior)."""

    labels_: pd.Series
    probas_: pd.DataFrame

    def fit_predict(self, data: pd.DataFrame, gold=None, labels=None) -> pd.Series:
        return self.fit(data, gold=gold, labels=labels).labels_

    def fit_predict_proba(self, data: pd.DataFrame, gold=None, labels=None) -> pd.DataFrame:
        return self.fit(data, gold=gold, labels=labels).probas_

    @property
    def confidence_(self) -> pd.Series:
        """The posterior of the chosen label, per task."""
        return self.probas_.max(axis=1).rename("confidence")

    def _store(self, enc: Encoded, probas: np.ndarray) -> None:
        self.probas_ = pd.DataFrame(probas, index=enc.tasks.rename("task"), columns=enc.labels)
        # Ties go to the first label in label order (crowd-kit's idxmax does the same).
        self.labels_ = pd.Series(
            enc.labels[probas.argmax(axis=1)], index=enc.tasks.rename("task"), name="agg_label"
        )


class MajorityVote(_Aggregator):
    """The most frequent label per task; `probas_` holds the vote shares. With `gold`, the gold
    tasks take their gold answer."""

    def fit(self, data: pd.DataFrame, gold=None, labels=None) -> MajorityVote:
        enc = encode(data, labels)
        counts = vote_counts(enc)
        probas = counts / counts.sum(axis=1, keepdims=True)
        _pin_gold(probas, *_gold_codes(enc, gold))
        self._store(enc, probas)
        # Per-worker agreement with the majority: a cheap skill estimate.
        agree = (self.labels_.to_numpy()[enc.task] == enc.labels[enc.label]).astype(float)
        per_worker = np.bincount(enc.worker, agree, len(enc.workers))
        self.skills_ = pd.Series(
            per_worker / np.bincount(enc.worker, minlength=len(enc.workers)),
            index=enc.workers.rename("worker"),
            name="skill",
        )
        return self


class DawidSkene(_Aggregator):
    """Dawid & Skene (1979): one confusion matrix per worker, true labels latent, fitted by EM
    from the majority vote. Results: `labels_`, `probas_`, `priors_` (label -> prior),
    `errors_` (rows (worker, true label), columns the given label: P(given | true); crowd-kit
    keeps the transpose), `skills_`, `loss_history_` (log likelihood per iteration). EM stops
    when the log likelihood changes by less than `tol` (relative) or after `n_iter` rounds."""

    def __init__(self, n_iter: int = 100, tol: float = 1e-5):
        self.n_iter = n_iter
        self.tol = tol

    # The model's emission: P(worker gives l | true k), shape (workers, K, K).
    def _m_step(self, enc: Encoded, probas: np.ndarray) -> np.ndarray:
        _, n_workers, n_labels = enc.shape
        task, cell, _ = enc.by_task
        by_class = np.ascontiguousarray(probas.T)  # 1-D gathers along rows are the fast ones
        errors = np.empty((n_workers, n_labels, n_labels))
        for k in range(n_labels):
            errors[:, k, :] = np.bincount(
                cell, weights=by_class[k].take(task), minlength=n_workers * n_labels
            ).reshape(n_workers, n_labels)
        totals = errors.sum(axis=2, keepdims=True)
        # A worker with no mass on class k says nothing about it: uniform row.
        return np.divide(errors, totals, out=np.full_like(errors, 1 / n_labels), where=totals > 0)

    def _e_step(self, enc: Encoded, priors: np.ndarray, errors: np.ndarray):
        n_tasks, _, n_labels = enc.shape
        _, cell, starts = enc.by_task
        # log P(given l | true k) as K rows over (worker, given label) cells; the answers are
        # ordered by task, so each task's sum is a contiguous segment (reduceat).
        table = np.log(np.maximum(errors, _FLOOR)).transpose(1, 0, 2).reshape(n_labels, -1)
        log_joint = np.empty((n_tasks, n_labels))
        for k in range(n_labels):
            log_joint[:, k] = np.add.reduceat(table[k].take(cell), starts)
        log_joint += np.log(np.maximum(priors, _FLOOR))
        top = log_joint.max(axis=1, keepdims=True)
        joint = np.exp(log_joint - top)
        norm = joint.sum(axis=1, keepdims=True)
        log_likelihood = float((np.log(norm) + top).sum())
        return joint / norm, log_likelihood

    def _errors_frame(self, enc: Encoded, errors: np.ndarray) -> pd.DataFrame:
        index = pd.MultiIndex.from_product([enc.workers, enc.labels], names=["worker", "label"])
        return pd.DataFrame(errors.reshape(-1, len(enc.labels)), index=index, columns=enc.labels)

    def fit(self, data: pd.DataFrame, gold=None, labels=None) -> DawidSkene:
        enc = encode(data, labels)
        gold_tasks, gold_labels = _gold_codes(enc, gold)
        counts = vote_counts(enc)
        probas = counts / counts.sum(axis=1, keepdims=True)
        _pin_gold(probas, gold_tasks, gold_labels)
        self.loss_history_ = []
        for _ in range(self.n_iter):
            priors = probas.mean(axis=0)
            errors = self._m_step(enc, probas)
            probas, log_likelihood = self._e_step(enc, priors, errors)
            _pin_gold(probas, gold_tasks, gold_labels)
            self.loss_history_.append(log_likelihood)
            if len(self.loss_history_) > 1 and abs(log_likelihood - self.loss_history_[-2]) < (
                self.tol * max(1.0, abs(log_likelihood))
            ):
                break
        self.priors_ = pd.Series(probas.mean(axis=0), index=enc.labels, name="prior")
        self.errors_ = self._errors_frame(enc, self._m_step(enc, probas))
        self._store(enc, probas)
        return self

    @property
    def skills_(self) -> pd.Series:
        """Per worker: the prior-weighted chance of giving the true label (accuracy)."""
        diag = np.stack(
            [self.errors_.xs(label, level="label")[label] for label in self.priors_.index]
        )
        return pd.Series(
            self.priors_.to_numpy() @ diag, index=self.errors_.index.levels[0], name="skill"
        )


class OneCoinDawidSkene(DawidSkene):
    """Dawid-Skene with one number per worker: right with probability `skill`, otherwise a
    uniformly random other label. Fewer parameters, steadier on workers with few answers.
    Results as DawidSkene plus `skills_` (worker -> skill)."""

    def _m_step(self, enc: Encoded, probas: np.ndarray) -> np.ndarray:
        _, n_workers, n_labels = enc.shape
        chosen = probas.ravel().take(enc.task * n_labels + enc.label)
        right = np.bincount(enc.worker, weights=chosen, minlength=n_workers)
        total = np.bincount(enc.worker, minlength=n_workers)
        skill = np.divide(right, total, out=np.full(n_workers, 1 / n_labels), where=total > 0)
        self._skills = skill
        off = (1 - skill) / max(n_labels - 1, 1)
        errors = np.repeat(off[:, None, None], n_labels, axis=1).repeat(n_labels, axis=2)
        diag = np.arange(n_labels)
        errors[:, diag, diag] = skill[:, None]
        return errors

    def fit(self, data: pd.DataFrame, gold=None, labels=None) -> OneCoinDawidSkene:
        super().fit(data, gold=gold, labels=labels)
        self._skills_series = pd.Series(
            self._skills, index=self.errors_.index.levels[0], name="skill"
        )
        return self

    @property
    def skills_(self) -> pd.Series:
        return self._skills_series


AGGREGATORS = {
    "majority": MajorityVote,
    "dawid_skene": DawidSkene,
    "one_coin": OneCoinDawidSkene,
}
