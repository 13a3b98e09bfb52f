"""Gold: honeypots, exams and training, per-question scoring, levels and the rules that move
an annotator (rolling gold accuracy, fast answers, rejected work), and their history.

The project wires it in (`Project.quality_settings`, `store.quality`); the review app calls
`apply_review_rules` after each verdict.
"""

from labelkit.gold.exams import ExamError, ExamRun
from labelkit.gold.policy import apply_review_rules
from labelkit.gold.scoring import score_answer, score_question
from labelkit.gold.settings import QualitySettings, QualitySettingsError, quality_settings
from labelkit.gold.status import annotator_status

__all__ = [
    "ExamError",
    "ExamRun",
    "QualitySettings",
    "QualitySettingsError",
    "annotator_status",
    "apply_review_rules",
    "quality_settings",
    "score_answer",
    "score_question",
]
