"""Aggregation models against crowd-kit on the same simulated crowds, and against the truth."""

import numpy as np
import pandas as pd
import pytest
from crowdkit import aggregation as ck

from labelkit.errors import LabelkitError
from labelkit.quality import (
    BradleyTerry,
    DawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
    leaderboard,
    win_rates,
)
from labelkit.quality.simulate import simulate_crowd

# crowd-kit 1.4.2 uses pandas keywords that pandas 3.1 deprecates (inplace=, copy=): its noise.
pytestmark = pytest.mark.filterwarnings("ignore:::crowdkit")


@pytest.fixture(scope="module")
def crowd():
    return simulate_crowd(n_tasks=3000, n_workers=60, n_labels=5, overlap=5, seed=1)


def _aligned(ours: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
    return reference.reindex(index=ours.index, columns=ours.columns).to_numpy()


def test_majority_vote_matches_crowd_kit(crowd):
    ours = MajorityVote().fit(crowd.answers)
    theirs = ck.MajorityVote().fit(crowd.answers)
    assert np.allclose(ours.probas_.to_numpy(), _aligned(ours.probas_, theirs.probas_))
    # Ties are broken by label order here and by column order of appearance in crowd-kit.
    clear = (ours.probas_.to_numpy() == ours.probas_.max(axis=1).to_numpy()[:, None]).sum(1) == 1
    assert (ours.labels_[clear] == theirs.labels_.reindex(ours.labels_.index)[clear]).all()


@pytest.mark.parametrize(
    "ours, theirs",
    [(DawidSkene, ck.DawidSkene), (OneCoinDawidSkene, ck.OneCoinDawidSkene)],
    ids=["dawid_skene", "one_coin"],
)
def test_dawid_skene_models_match_crowd_kit(crowd, ours, theirs):
    # The same EM, run for the same number of iterations (no early stop on either side).
    mine = ours(n_iter=60, tol=0).fit(crowd.answers)
    reference = theirs(n_iter=60, tol=-np.inf).fit(crowd.answers)
    assert np.abs(mine.probas_.to_numpy() - _aligned(mine.probas_, reference.probas_)).max() < 1e-6
    assert (mine.labels_ == reference.labels_.reindex(mine.labels_.index)).all()
    assert np.allclose(mine.priors_.sort_index(), reference.priors_.sort_index(), atol=1e-6)
    # With the default stopping rules both stop within an iteration of each other.
    mine, reference = ours().fit(crowd.answers), theirs(n_iter=100).fit(crowd.answers)
    assert abs(len(mine.loss_history_) - len(reference.loss_history_)) <= 2
    assert (mine.labels_ == reference.labels_.reindex(mine.labels_.index)).mean() > 0.995


def test_gold_anchored_dawid_skene_matches_crowd_kit_with_true_labels(crowd):
    gold = crowd.truth.iloc[:300]
    mine = DawidSkene(n_iter=60, tol=0).fit(crowd.answers, gold=gold)
    reference = ck.DawidSkene(n_iter=60, tol=-np.inf).fit(crowd.answers, true_labels=gold)
    assert np.abs(mine.probas_.to_numpy() - _aligned(mine.probas_, reference.probas_)).max() < 1e-6
    assert (mine.labels_.loc[gold.index] == gold).all()
    assert (mine.confidence_.loc[gold.index] == 1).all()


def test_dawid_skene_beats_majority_vote_and_recovers_annotator_quality(crowd):
    truth = crowd.truth
    majority = (MajorityVote().fit_predict(crowd.answers) == truth).mean()
    dawid_skene = DawidSkene().fit(crowd.answers)
    one_coin = OneCoinDawidSkene().fit(crowd.answers)
    assert (dawid_skene.labels_ == truth).mean() > majority + 0.1
    assert (one_coin.labels_ == truth).mean() > majority + 0.05
    # Estimated skills track the simulated ones; adversaries and spammers land at the bottom.
    assert np.corrcoef(dawid_skene.skills_, crowd.accuracy)[0, 1] > 0.97
    bad = crowd.kinds.isin(["adversary", "spammer", "random"]).to_numpy()
    assert (
        dawid_skene.skills_[bad].max()
        < dawid_skene.skills_[crowd.kinds.eq("good").to_numpy()].min()
    )
    # The confusion matrix of an adversary shows its shift to the next label.
    adversary = crowd.kinds.index[crowd.kinds.eq("adversary")][0]
    errors = dawid_skene.errors_.loc[adversary].to_numpy()
    assert (errors.argmax(axis=1) == (np.arange(5) + 1) % 5).all()


def test_gold_helps_when_most_workers_are_adversaries():
    crowd = simulate_crowd(2000, 30, 4, 5, shares={"adversary": 0.6, "good": 0.4}, seed=4)
    plain = (DawidSkene().fit_predict(crowd.answers) == crowd.truth).mean()
    gold = crowd.truth.iloc[:100]
    anchored = DawidSkene().fit_predict(crowd.answers, gold=gold)
    rest = crowd.truth.index[100:]
    assert (anchored[rest] == crowd.truth[rest]).mean() > max(plain, 0.9)


def test_unknown_labels_and_missing_columns_are_refused(crowd):
    with pytest.raises(LabelkitError, match="not among"):
        MajorityVote().fit(crowd.answers, labels=[0, 1])
    with pytest.raises(LabelkitError, match="task, worker, label"):
        DawidSkene().fit(crowd.answers.rename(columns={"worker": "who"}))


# ---------------------------------------------------------------------------- Bradley-Terry


def _tournament(n_models=10, n=20_000, tie_share=0.0, seed=0):
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 1, n_models)
    names = np.array([f"model-{k}" for k in range(n_models)])
    a = rng.integers(0, n_models, n)
    b = (a + rng.integers(1, n_models, n)) % n_models
    left_wins = rng.random(n) < 1 / (1 + np.exp(strength[b] - strength[a]))
    data = pd.DataFrame({"worker": "w", "left": names[a], "right": names[b]})
    data["label"] = np.where(left_wins, data["left"], data["right"])
    data.loc[rng.random(n) < tie_share, "label"] = "tie"
    return data, pd.Series(strength, index=names)


def _log_likelihood(scores, data):
    p = scores.to_dict()
    return sum(
        np.log(p[won] / (p[left] + p[right]))
        for left, right, won in zip(data.left, data.right, data.label, strict=True)
    )


def test_bradley_terry_matches_crowd_kit_run_to_convergence():
    data, _ = _tournament()
    ours = BradleyTerry().fit_predict(data)
    # crowd-kit 1.4.2 compares the new scores with an alias of themselves, so its tolerance
    # test stops after two iterations; tol=-1 makes it run all n_iter and converge.
    converged = ck.BradleyTerry(n_iter=1000, tol=-1).fit_predict(data)
    assert np.abs(ours - converged.reindex(ours.index)).max() < 1e-6
    early = ck.BradleyTerry(n_iter=1000).fit_predict(data)
    assert _log_likelihood(ours, data) >= _log_likelihood(early, data)


def test_bradley_terry_with_ties_recovers_strengths_and_bootstrap_covers_them():
    data, strength = _tournament(n=30_000, tie_share=0.25, seed=3)
    model = BradleyTerry().fit(data)
    assert model.tie_ > 0.3
    fitted = np.log(model.scores_[strength.index])
    assert np.corrcoef(fitted, strength)[0, 1] > 0.99
    board = leaderboard(data, rounds=100)
    assert list(board.index[:3]) == list(strength.sort_values(ascending=False).index[:3])
    assert (board["lower"] <= board["rating"]).all() and (board["rating"] <= board["upper"]).all()
    assert (board["wins"] + board["ties"] + board["losses"] == board["comparisons"]).all()
    assert board["comparisons"].sum() == 2 * len(data)


def test_win_rates_are_complementary_and_count_ties_half():
    data = pd.DataFrame(
        {
            "left": ["a", "a", "b", "a"],
            "right": ["b", "b", "a", "c"],
            "label": ["a", "tie", "a", "c"],
        }
    )
    rates = win_rates(data)
    assert rates.loc["a", "b"] == pytest.approx((2 + 0.5) / 3)
    assert rates.loc["b", "a"] == pytest.approx(0.5 / 3)
    assert rates.loc["a", "c"] == 0 and rates.loc["c", "a"] == 1
    assert np.isnan(rates.loc["b", "c"])


def test_a_winner_that_is_neither_side_is_refused():
    with pytest.raises(LabelkitError, match="neither side"):
        BradleyTerry().fit(pd.DataFrame({"left": ["a"], "right": ["b"], "label": ["c"]}))
