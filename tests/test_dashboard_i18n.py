"""The team dashboard in the viewer's language: a French admin reads French headings, column
names, status words and numbers written the French way ("0,850", "85,3 %", "0,30 €"), with
nothing left in English but the dataset's own text; an English admin of the same project still
reads English; a French annotator's refusal page is French."""

from __future__ import annotations

import re
import warnings

import ipywidgets as w
import pytest

from labelkit.dashboard import plots
from labelkit.dashboard.app import dashboard_app
from labelkit.dashboard.figures import project_figures
from labelkit.ui.app import HOST_VARIABLE

from .simulated_team import simulated_team

NBSP = "\u00a0"
# Words of the English dashboard that a French admin must not read.
ENGLISH = [
    "team dashboard",
    "updated",
    "Refresh",
    "every 30 s",
    "complete at overlap",
    "in the last hour",
    "not started",
    "in progress",
    "median s",
    "gold score",
    "agreement w/ consensus",
    "earned this week",
    "sensitive items",
    "Fleiss' kappa",
    "Cohen's kappa",
    "agreeing pairs",
    "items with 2+ answers",
    "Krippendorff's alpha",
    "Progress",
    "Annotators",
    "Disagreements",
    "Leaderboard",
    "Pick an item",
    "active",
    "annotator",
    "answers",
]


def shown(widget) -> list[str]:
    """The texts a widget tree puts on the page: HTML, button and checkbox labels, tab titles,
    list options."""
    texts = []
    if isinstance(widget, w.HTML):
        texts.append(widget.value)
    if isinstance(widget, w.Button | w.Checkbox):
        texts.append(widget.description)
    if isinstance(widget, w.Tab):
        texts += list(widget.titles)
    if isinstance(widget, w.Select):
        texts += [label for label, _ in widget.options]
    for child in getattr(widget, "children", ()):
        texts += shown(child)
    return texts


def french(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def served(monkeypatch, token: str) -> None:
    monkeypatch.setenv(HOST_VARIABLE, "127.0.0.1")
    monkeypatch.setenv("QUERY_STRING", f"token={token}")


@pytest.fixture
def team(tmp_path):
    team = simulated_team(tmp_path / "team", n_items=10, n_workers=4, overlap=3)
    yield team
    team.project.close()


def test_a_french_admin_reads_the_dashboard_in_french(team, monkeypatch):
    project = team.project
    _, token = project.annotators.add("chef", role="admin", locale="fr")
    figures = project_figures(project)
    served(monkeypatch, token)
    root = dashboard_app(str(project.path))
    page = "\n".join(shown(root))

    assert "Classify\u00a0: tableau de bord de l’équipe" in page
    tabs = root.children[2]
    assert list(tabs.titles) == [
        "Progression",
        "Annotateurs",
        "Questions",
        "Désaccords",
        "Classement",
    ]
    assert "Actualiser" in page and "toutes les 30 s" in page and "mis à jour à" in page

    # Progress: the words and the share complete, the French way ("41,7 %").
    share = french(100 * figures["complete"] / figures["items"], 1) + NBSP + "%"
    assert f"{share} terminé avec un recouvrement de 3" in page
    for word in ("éléments", "terminés", "en cours", "non commencés", "réponses soumises"):
        assert f"</strong> {word}</div>" in page

    # Annotators: French column names, status and role words, decimal commas, euros after.
    for column in ("annotateur", "rôle", "niveau", "statut", "réponses", "médiane (s)"):
        assert f"<th>{column}</th>" in page
    for column in ("score de contrôle", "accord avec le consensus", "gagné cette semaine"):
        assert f"<th>{column}</th>" in page
    assert "<th>éléments sensibles 24 h / 7 jours</th>" in page
    assert "<td class='lk-role'>administrateur</td>" in page
    assert "<td class='lk-status'>actif</td>" in page
    for person in figures["per_annotator"]:
        if person["agreement_with_consensus"] is not None:
            agreement = french(person["agreement_with_consensus"], 3)
            assert f"<td class='lk-agreement'>{agreement}</td>" in page
        if person["answers"]:
            seconds = french(person["median_seconds"], 1)
            assert f"<td class='lk-median-seconds'>{seconds}</td>" in page
    paid = next(p for p in figures["per_annotator"] if p["earned_week"])
    assert f"<td class='lk-earned'>{french(paid['earned_week'], 2)}{NBSP}€</td>" in page

    # Questions: the measure in French, kappas with a decimal comma.
    label = figures["agreement"]["label"]
    assert "<td class='lk-measure'>alpha de Krippendorff (nominal)</td>" in page
    assert f"<td class='lk-value'>{french(label['value'], 3)}</td>" in page
    assert f"<td class='lk-fleiss'>{french(label['fleiss_kappa'], 3)}</td>" in page
    for column in ("mesure", "valeur", "kappa de Fleiss", "paires en accord"):
        assert f"<th>{column}</th>" in page

    # Disagreements: the list and the drill-down in French; dataset text escaped, as it is.
    worst = figures["disagreements"][0]
    options = root.children[2].children[3].children[0]
    assert options.options[0][0].startswith(worst["item"])
    assert f"accord {french(worst['agreement'], 2)}" in options.options[0][0]
    assert "Choisissez un élément pour voir ses champs et ses réponses." in page
    options.value = worst["item_id"]  # what a click does
    drilldown = root.children[2].children[3].children[1].value
    heading = f"Élément {worst['item']} · accord {french(worst['agreement'], 2)}"
    assert f"{heading} · {worst['answers']} réponses</h3>" in drilldown
    assert "<script>" not in drilldown and "&lt;script&gt;alert(&#x27;" in drilldown
    assert "<th>annotateur</th>" in drilldown

    words = re.sub(r"<[^>]*>", " ", "\n".join(shown(root)))  # what one reads, tags aside
    for english in ENGLISH:
        assert not re.search(rf"(?<!\w){re.escape(english)}(?!\w)", words), english


def test_each_admin_reads_their_own_language(team, monkeypatch):
    project = team.project
    project.settings["locale"] = "fr"
    project.save_settings()
    _, french_admin = project.annotators.add("chef", role="admin")  # the project's language
    _, english_admin = project.annotators.add("lead", role="admin", locale="en")

    served(monkeypatch, french_admin)
    root = dashboard_app(str(project.path))
    assert "tableau de bord de l’équipe" in shown(root)[0]

    served(monkeypatch, english_admin)
    root = dashboard_app(str(project.path))
    page = "\n".join(shown(root))
    assert "Classify: team dashboard" in shown(root)[0]
    assert list(root.children[2].titles)[:2] == ["Progress", "Annotators"]
    assert "<th>agreement w/ consensus</th>" in page and "<td class='lk-status'>active</td>" in page
    value = f"{project_figures(project)['agreement']['label']['value']:.3f}"
    assert f"<td class='lk-value'>{value}</td>" in page


def test_a_french_annotator_is_refused_in_french(team, monkeypatch):
    _, token = team.project.annotators.add("annie", locale="fr")
    served(monkeypatch, token)
    page = dashboard_app(str(team.project.path)).data
    assert "Accès refusé" in page and "réservé aux administrateurs du projet" in page
    assert 'lang="fr"' in page and "admins" not in page


def test_plots_are_labeled_in_french(team):
    figures = project_figures(team.project)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph missing from the font would warn
        drawn = plots.annotator_plot(figures, "fr")
        assert plots.png(drawn).startswith(b"\x89PNG")
    counts, quality = drawn.axes
    assert counts.get_xlabel() == "réponses"
    assert quality.get_xlabel() == "proportion (0–1)"
    legend = [text.get_text() for text in quality.get_legend().get_texts()]
    assert sorted(legend) == ["accord avec le consensus", "contrôle"]
    ticks = [tick.get_text() for tick in quality.get_xticklabels()]
    assert "0,2" in ticks and "0.2" not in ticks

    progress = plots.progress_plot(figures, "fr")
    assert progress.axes[0].get_xlabel() == "éléments"
    legend = [text.get_text() for text in progress.axes[0].get_legend().get_texts()]
    assert legend[2] == f"non commencés ({figures['not_started']})"
    throughput = plots.throughput_plot(figures, "fr")
    assert throughput.axes[0].get_ylabel() == "réponses par heure"
    assert throughput.axes[0].get_title() == "Débit (UTC)"
    agreement = plots.agreement_plot(figures, "fr")
    assert agreement.axes[0].get_xlabel() == "alpha de Krippendorff"
