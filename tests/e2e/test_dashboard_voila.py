"""The team dashboard through the real `labelkit serve --app dashboard` in Chromium.

An admin's link opens it on a project labeled by a simulated crowd: the figures on the page
(progress, answers and agreement per annotator, agreement per question, the disagreement
drill-down) are the ones the project computes, an answer given meanwhile shows at the next
refresh, and no dataset string runs as markup. An annotator's link gets a "no access" page.
A French admin reads the same dashboard in French (words and numbers), a French annotator's
refusal is French.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from labelkit.dashboard.app import number
from labelkit.dashboard.figures import project_figures
from labelkit.team.accounts import access_link

from ..simulated_team import simulated_team
from .conftest import free_port, offline_page, screenshot

pytestmark = pytest.mark.e2e


def stat(page, key: str):
    return page.locator(f".lk-dash-progress [data-figure='{key}'] strong")


def test_admin_sees_the_computed_figures_and_annotators_get_no_access(
    browser, page, tmp_path, serve_app
):
    team = simulated_team(tmp_path / "team", n_items=24, n_workers=5, overlap=3)
    project = team.project
    project.settings["dashboard"] = {"refresh_seconds": 2}
    project.save_settings()
    port = free_port()
    _, admin_token = project.annotators.add("lead", role="admin")
    _, annotator_token = project.annotators.add("ann0")
    _, french_admin = project.annotators.add("chef", role="admin", locale="fr")
    _, french_annotator = project.annotators.add("ann1", locale="fr")
    serve_app(project.path, "--app", "dashboard", port=port)
    figures = project_figures(project)

    page.goto(access_link(admin_token, "127.0.0.1", port))
    expect(page.locator(".lk-dashboard")).to_be_visible(timeout=60_000)
    expect(page.locator(".lk-dash-heading")).to_have_text("Classify: team dashboard")
    for key in ("items", "complete", "in_progress", "not_started", "submitted"):
        expect(stat(page, key)).to_have_text(str(figures[key]))
    assert page.locator("img.lk-dash-plot").first.evaluate("img => img.naturalWidth") > 0

    page.get_by_role("tab", name="Annotators").click()
    answered = {name: 0 for _, name in team.answers}
    for _, name in team.answers:
        answered[name] += 1
    for person in figures["per_annotator"]:
        row = page.locator(f".lk-dash-annotators tr[data-annotator='{person['annotator']}']")
        expect(row.locator(".lk-answers")).to_have_text(str(person["answers"]))
        assert person["answers"] == answered.get(person["annotator"], 0)
        expect(row.locator(".lk-agreement")).to_have_text(
            number(person["agreement_with_consensus"])
        )
        expect(row.locator(".lk-level")).to_have_text(str(person["level"]))
    screenshot(page, "dashboard-annotators")

    page.get_by_role("tab", name="Questions").click()
    label = figures["agreement"]["label"]
    row = page.locator(".lk-dash-agreement tr[data-question='label']")
    expect(row.locator(".lk-measure")).to_have_text("Krippendorff's alpha (nominal)")
    expect(row.locator(".lk-value")).to_have_text(f"{label['value']:.3f}")
    expect(row.locator(".lk-fleiss")).to_have_text(f"{label['fleiss_kappa']:.3f}")
    screenshot(page, "dashboard-questions")

    page.get_by_role("tab", name="Disagreements").click()
    worst = figures["disagreements"][0]
    page.locator(".lk-dash-disagreements select").select_option(index=0)
    drilldown = page.locator(".lk-dash-drilldown")
    expect(drilldown.locator(".lk-dash-item")).to_contain_text(f"Item {worst['item']}")
    expect(drilldown.locator(".lk-dash-field")).to_contain_text("<script>alert(")  # as text
    for response in worst["responses"]:
        answer_row = drilldown.locator(f"tr[data-annotator='{response['annotator']}']")
        expect(answer_row.locator(".lk-q-label")).to_have_text(response["answer"]["label"])
    screenshot(page, "dashboard-disagreements")

    # Someone labels meanwhile: the next refresh shows it.
    page.get_by_role("tab", name="Progress").click()
    project.submit(team.unanswered[1], {"label": "billing"}, annotator="ann2")
    expect(stat(page, "submitted")).to_have_text(str(figures["submitted"] + 1), timeout=30_000)
    expect(stat(page, "not_started")).to_have_text(str(figures["not_started"] - 1))
    screenshot(page, "dashboard-progress")
    assert page.watch.dialogs == []  # no dataset script ran
    assert page.watch.console_errors == []

    # An annotator's link: no dashboard.
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    other.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(("http://127.0.0.1", "blob:", "data:"))
            else route.abort()
        ),
    )
    annotator_page = other.new_page()
    annotator_page.goto(access_link(annotator_token, "127.0.0.1", port))
    denied = annotator_page.locator(".lk-access-denied")
    expect(denied).to_be_visible(timeout=60_000)
    expect(denied).to_contain_text("No access")
    expect(denied).to_contain_text("admin")
    assert annotator_page.locator(".lk-dashboard").count() == 0
    screenshot(annotator_page, "dashboard-no-access")
    other.close()

    # A French admin: the same figures, in French words and numbers.
    chef = offline_page(browser)
    chef.goto(access_link(french_admin, "127.0.0.1", port))
    expect(chef.locator(".lk-dashboard")).to_be_visible(timeout=60_000)
    expect(chef.locator(".lk-dash-heading")).to_have_text(
        "Classify\u00a0: tableau de bord de l’équipe"
    )
    expect(chef.locator(".lk-dash-refresh")).to_contain_text("Actualiser")
    expect(chef.locator(".lk-dash-progress")).to_contain_text("non commencés")
    expect(chef.locator(".lk-dash-progress")).to_contain_text("avec un recouvrement de 3")
    chef.get_by_role("tab", name="Annotateurs").click()
    table = chef.locator(".lk-dash-annotators table")
    for column in ("annotateur", "statut", "médiane (s)", "accord avec le consensus"):
        expect(table.locator("th", has_text=column)).to_have_count(1)
    for person in figures["per_annotator"]:
        if person["agreement_with_consensus"] is None:
            continue
        row = table.locator(f"tr[data-annotator='{person['annotator']}']")
        agreement = f"{person['agreement_with_consensus']:.3f}".replace(".", ",")
        expect(row.locator(".lk-agreement")).to_have_text(agreement)
        expect(row.locator(".lk-status")).to_have_text("actif")
    chef.get_by_role("tab", name="Questions").click()
    row = chef.locator(".lk-dash-agreement tr[data-question='label']")
    expect(row.locator(".lk-measure")).to_have_text("alpha de Krippendorff (nominal)")
    screenshot(chef, "dashboard-fr-questions")
    chef.get_by_role("tab", name="Désaccords").click()
    expect(chef.locator(".lk-dash-hint")).to_have_text(
        "Choisissez un élément pour voir ses champs et ses réponses."
    )
    assert "team dashboard" not in chef.locator(".lk-dashboard").inner_text()
    assert chef.watch.dialogs == [] and chef.watch.console_errors == []
    chef.context.close()

    # A French annotator's refusal is French too.
    refused = offline_page(browser)
    refused.goto(access_link(french_annotator, "127.0.0.1", port))
    denied = refused.locator(".lk-access-denied")
    expect(denied).to_be_visible(timeout=60_000)
    expect(denied).to_contain_text("Accès refusé")
    expect(denied).to_contain_text("réservé aux administrateurs")
    refused.context.close()
    project.close()
