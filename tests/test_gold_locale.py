"""The quality path in the annotator's language: a French annotator reads why the rules moved
them, what the next level requires, why an exam is closed and an exam refusal in French, with
French numbers ("0,67", "80 %"); the lead's CLI and str() stay English."""

import uuid

import pytest
import sqlalchemy as sa

from labelkit.gold import ExamError, exams, history
from labelkit.store.tables import annotations, reviews
from labelkit.ui import LabelWidget
from labelkit.ui.session import LabelSession
from tests.test_gold_cli import run
from tests.test_gold_exams import make_project as exam_project
from tests.test_gold_policy import make_project, work

NB = "\u00a0"  # French puts a no-break space before ":" and "%" and inside « »


def french_standing(project, name):
    return LabelSession(project, name).standing()  # what the "my level" panel receives


def test_a_french_annotator_reads_the_rules_reasons_in_french(tmp_path):
    project = make_project(tmp_path / "p", normal=80)
    for name in ("middle", "bad", "good", "new"):
        project.annotators.add(name, locale="fr")

    work(project, "middle", 0.75)  # sent to retry
    standing = french_standing(project, "middle")
    assert standing["history"][0]["reason"] == (
        f"exactitude de 0,67 sur les 3 dernières réponses de contrôle, inférieure à 0,80{NB}: "
        f"repassez l’examen «{NB}basics{NB}» pour retrouver du travail"
    )
    assert standing["next_level"]["requires"] == (
        f"Repassez l’examen «{NB}basics{NB}» (80{NB}% requis) pour retrouver du travail."
    )
    # The lead (Python API, CLI) reads the same standing in English.
    lead = project.annotator_status("middle")
    assert lead["history"][0]["reason"] == (
        "gold accuracy 0.67 over the last 3 gold answers is under 0.80: "
        "pass the exam 'basics' again to get work back"
    )
    assert lead["next_level"]["requires"] == (
        "Pass the exam 'basics' again (80% needed) to get work back."
    )

    work(project, "bad", 0.4)  # suspended
    standing = french_standing(project, "bad")
    assert standing["history"][0]["reason"] == (
        "exactitude de 0,33 sur les 3 dernières réponses de contrôle, inférieure à 0,60"
    )
    assert standing["next_level"]["requires"] == (
        f"Votre accès est suspendu{NB}: le responsable du projet peut le rétablir."
    )

    standing = french_standing(project, "new")  # nothing counted yet
    assert standing["next_level"]["requires"] == (
        f"Une exactitude d’au moins 90{NB}% sur 10 réponses de contrôle permet d’atteindre "
        "le niveau 1 (aucune réponse de contrôle comptée pour l’instant)."
    )

    work(project, "good", 0.95, max_items=120)  # promoted
    standing = french_standing(project, "good")
    promotion = standing["history"][-1]
    assert promotion["reason"] == (
        "exactitude de 1,00 sur les 10 dernières réponses de contrôle, seuil de 0,90 atteint"
        f"{NB}: passage au niveau 1"
    )
    assert standing["next_level"]["requires"] == "Le niveau 1 est le plus élevé de ce projet."
    project.close()

    code, out = run("annotators", "history", tmp_path / "p", "middle")
    assert code == 0, out
    assert "next: Pass the exam 'basics' again (80% needed) to get work back." in out
    assert "gold accuracy 0.67 over the last 3 gold answers is under 0.80: pass" in out


def test_speed_and_review_suspensions_are_explained_in_french(tmp_path):
    project = make_project(
        tmp_path / "p",
        honeypot_rate=0,
        fast={"ratio": 0.5, "min_samples": 10, "suspend_after": 3, "window": 5},
    )
    project.annotators.add("rusher", locale="fr")
    project.annotators.add("ana", locale="fr")
    project.annotators.add("rita", role="reviewer")
    work(project, "honest", 1.0, max_items=20, duration_ms=8_000)  # the median: 8 s
    work(project, "rusher", 1.0, max_items=10, duration_ms=1_000)
    (event,) = french_standing(project, "rusher")["history"]
    assert event["reason"] == (
        f"3 des 3 dernières réponses ont pris moins de 50{NB}% du temps habituel (8,0{NB}s)"
    )
    assert project.annotator_history("rusher")[0]["reason"] == (
        "3 of the last 3 answers were faster than 50% of the usual time (8.0 s)"
    )

    work(project, "ana", 1.0, max_items=4, duration_ms=8_000)
    ana, rita = project.annotators.get("ana").id, project.annotators.get("rita").id
    with project.store.writing() as conn:
        ids = conn.execute(
            sa.select(annotations.c.id).where(annotations.c.annotator_id == ana)
        ).scalars()
        verdicts = zip(ids, ["rejected", "rejected", "rejected", "accepted"], strict=True)
        for annotation_id, verdict in verdicts:
            conn.execute(
                reviews.insert().values(
                    annotation_id=annotation_id, reviewer_id=rita, verdict=verdict
                )
            )
    assert project.apply_review_rules("ana")["suspended"]
    (event,) = french_standing(project, "ana")["history"]
    assert event["reason"] == (
        f"3 des 4 réponses relues ont été rejetées (75{NB}%), au-delà de 50{NB}%"
    )
    project.close()


def test_exam_refusals_and_closed_exams_are_said_in_french(tmp_path):
    project = exam_project(
        tmp_path / "p",
        basics={"level": 1, "max_attempts": 1},
        french={"level": 0, "language": "fr"},
        expert={"level": 3},
    )
    project.add_gold("w0", {"label": "billing"}, exam="french")
    project.add_gold("w1", {"label": "billing"}, exam="expert")
    ana, _ = project.annotators.add("ana", languages="en", locale="fr")
    widget = LabelWidget(LabelSession(project, "ana"))
    acks = []
    widget.send = lambda content, buffers=None: acks.append(content)

    def start(name):
        message = {"action": "exam_start", "client_key": uuid.uuid4().hex, "name": name}
        widget._on_action(widget, message | {"token": None}, [])
        return acks[-1]

    ack = start("french")
    assert not ack["ok"] and ack["error"] == (
        f"l’examen «{NB}french{NB}» ne peut pas être passé maintenant{NB}: cet examen est "
        f"réservé aux annotateurs qui travaillent dans la langue «{NB}fr{NB}»"
    )
    assert start("nope")["error"] == (
        f"examen «{NB}nope{NB}» inconnu (examens{NB}: basics, expert, french)"
    )
    with pytest.raises(ExamError) as refused:  # str() stays English (logs, the lead)
        exams.start(project, ana.id, "french")
    assert str(refused.value) == (
        "the exam 'french' cannot be taken now: this exam is for annotators working in fr"
    )
    why = {e["name"]: e["why_not"] for e in exams.describe(project, ana.id, "fr")}
    assert why == {
        "basics": None,
        "french": f"cet examen est réservé aux annotateurs qui travaillent dans la langue "
        f"«{NB}fr{NB}»",
        "expert": "atteignez d’abord le niveau 2",
    }

    assert start("basics")["ok"]  # failed, and no attempt left
    session = widget.session
    for _ in range(5):
        session.submit(session.shown.token, uuid.uuid4().hex, {"label": "other"})
    standing = french_standing(project, "ana")
    assert standing["next_level"]["requires"] == (
        f"Réussissez l’examen «{NB}basics{NB}» (80{NB}% requis) pour atteindre le niveau 1. "
        f"Pas ouvert pour l’instant{NB}: plus aucun essai disponible."
    )
    failed = standing["history"][0]["reason"]
    assert failed.startswith(f"examen «{NB}basics{NB}» non réussi avec ")
    assert failed.endswith(" (0,80 requis)")
    lead = project.annotator_status("ana")
    assert lead["next_level"]["requires"] == (
        "Pass the exam 'basics' (80% needed) to reach level 1. Not open now: no attempts left."
    )
    assert lead["history"][0]["reason"].startswith("failed the exam 'basics' with ")
    project.close()


def test_a_leads_own_words_stay_as_written(tmp_path):
    project = make_project(tmp_path / "p", honeypot_rate=0)
    project.annotators.add("ana", locale="fr")
    project.annotators.suspend("ana", reason="left the project", actor="lea")
    with project.store.writing() as conn:  # an event written before reasons were Messages
        history.record(conn, project.annotators.get("ana").id, "warning", "slow down a bit")
    reasons = [e["reason"] for e in french_standing(project, "ana")["history"]]
    assert reasons == ["slow down a bit", "left the project"]
    project.close()


def test_the_leads_changes_without_words_are_said_in_the_annotators_language(tmp_path):
    project = make_project(tmp_path / "p", honeypot_rate=0)
    project.annotators.add("ana", locale="fr")
    project.annotators.update("ana", level=2, actor="lea")
    project.annotators.suspend("ana", actor="lea")
    project.annotators.resume("ana", actor="lea")
    reasons = [e["reason"] for e in french_standing(project, "ana")["history"]]
    assert reasons == [
        "rétabli par le responsable du projet",
        "suspendu par le responsable du projet",
        "niveau fixé à 2 par le responsable du projet",
    ]
    english = [e["reason"] for e in project.annotator_status("ana")["history"]]
    assert english[2] == "level set to 2 by the project lead"
    project.close()
