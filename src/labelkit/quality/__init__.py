"""Quality of labels: consensus answers, agreement between annotators, aggregation models
(majority vote, Dawid-Skene), preference leaderboards and translation scores."""

from labelkit.quality.aggregation import DawidSkene, MajorityVote, OneCoinDawidSkene
from labelkit.quality.agreement import (
    agreement,
    cohen_kappa,
    distance_alpha,
    fleiss_kappa,
    krippendorff_alpha,
    pairwise_cohen_kappa,
)
from labelkit.quality.consensus import consensus
from labelkit.quality.preference import BradleyTerry, leaderboard, win_rates
from labelkit.quality.project_figures import agreement_by_question
from labelkit.quality.translation import error_score, translation_scores, z_scores

__all__ = [
    "BradleyTerry",
    "DawidSkene",
    "MajorityVote",
    "OneCoinDawidSkene",
    "agreement",
    "agreement_by_question",
    "cohen_kappa",
    "consensus",
    "distance_alpha",
    "error_score",
    "fleiss_kappa",
    "krippendorff_alpha",
    "leaderboard",
    "pairwise_cohen_kappa",
    "translation_scores",
    "win_rates",
    "z_scores",
]
