"""Who gets which item: overlap, never twice, languages, levels, order, partial-first, leases.

Every test runs on SQLite and on a real PostgreSQL server. Lease times use an injected clock.
"""

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelkit import Project
from labelkit.cli import cli
from labelkit.errors import ProjectError
from labelkit.store.tables import annotators

ANSWER = {"label": "billing"}


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_project(tmp_path, db_url, n=6, *, columns=None, **settings):
    project = Project.create(tmp_path / "p", "classification", db_url=db_url, **settings)
    frame = pd.DataFrame(
        {"id": [f"i{k}" for k in range(n)], "text": [f"text {k}" for k in range(n)]}
    )
    for name, values in (columns or {}).items():
        frame[name] = values
    project.import_items(frame, id_column="id", progress=False)
    project.store.clock = Clock()
    return project


@pytest.fixture
def project(tmp_path, db_url):
    project = make_project(tmp_path, db_url)
    yield project
    project.close()


def set_annotator(project, name, **values):
    """Languages / level / status as the accounts CLI would set them."""
    annotator_id = project.store.annotator_id(name)
    with project.store.writing() as conn:
        conn.execute(annotators.update().where(annotators.c.id == annotator_id).values(**values))


def label_all(project, name, answer=ANSWER) -> list[str]:
    """Label until nothing is left for `name`; the keys in the order they were handed out."""
    keys = []
    item = project.next_item(name)
    while item is not None:
        keys.append(item.key)
        _, item = project.submit_and_next(item, answer, annotator=name)
    return keys


def submitted_by_item(project) -> dict[str, list[str]]:
    rows = project.annotations()
    rows = rows[rows["status"] == "submitted"]
    return {key: sorted(group["annotator"]) for key, group in rows.groupby("item")}


# ---------------------------------------------------------------------------- overlap


def test_each_item_gets_exactly_overlap_answers_from_distinct_annotators(tmp_path, db_url):
    with make_project(tmp_path, db_url, n=5, overlap=2) as project:
        assert len(label_all(project, "ana")) == 5
        assert len(label_all(project, "bob")) == 5
        assert label_all(project, "cem") == []  # everything is complete
        assert submitted_by_item(project) == {f"i{k}": ["ana", "bob"] for k in range(5)}
        assert project.progress()["complete"] == 5


def test_never_the_same_item_twice_even_after_skip_or_escalation(project):
    first = project.next_item("ana")
    _, second = project.submit_and_next(first, status="skipped", annotator="ana")
    _, third = project.submit_and_next(
        second, status="escalated", comment="unclear", annotator="ana"
    )
    rest = label_all(project, "ana")
    handed = [first.key, second.key, *rest]
    assert third.key == rest[0]
    assert sorted(handed) == sorted(set(handed)) == [f"i{k}" for k in range(6)]
    # the skipped and escalated items still want an answer: someone else gets them
    assert set(label_all(project, "bob")) == {first.key, second.key}


# ---------------------------------------------------------------------------- routing


def test_language_routing(tmp_path, db_url):
    languages = ["en", "fr", None, "en", "FR", "de"]
    with make_project(tmp_path, db_url, columns={"language": languages}) as project:
        set_annotator(project, "amelie", languages=["fr"])
        set_annotator(project, "bilingual", languages=["fr", "de"])
        set_annotator(project, "polyglot", languages=None)  # any language
        french = label_all(project, "amelie")
        assert sorted(french) == ["i1", "i2", "i4"]  # French and language-less items only
        assert sorted(label_all(project, "bilingual")) == ["i5"]  # the rest are done
        assert sorted(label_all(project, "polyglot")) == ["i0", "i3"]


def test_french_only_annotator_never_gets_english_with_overlap(tmp_path, db_url):
    languages = ["en", "fr"] * 5
    with make_project(tmp_path, db_url, n=10, columns={"language": languages}, overlap=3) as p:
        for name in ("f1", "f2"):
            set_annotator(p, name, languages=["fr"])
        for name in ("f1", "e1", "f2", "e2"):
            p.next_item(name)  # hold leases while the others ask
        assert all(int(key[1:]) % 2 == 1 for key in label_all(p, "f1") + label_all(p, "f2"))


def test_annotator_sees_only_items_at_or_below_their_level(tmp_path, db_url):
    with make_project(tmp_path, db_url, columns={"level": [0, 1, 2, 0, 1, 2]}) as project:
        set_annotator(project, "junior", level=0)
        set_annotator(project, "mid", level=1)
        assert sorted(label_all(project, "junior")) == ["i0", "i3"]
        assert sorted(label_all(project, "mid")) == ["i1", "i4"]
        set_annotator(project, "senior", level=2)
        assert sorted(label_all(project, "senior")) == ["i2", "i5"]


def test_suspended_annotator_gets_nothing(project):
    set_annotator(project, "ana", status="suspended")
    assert project.next_item("ana") is None


# ---------------------------------------------------------------------------- order


def test_sequential_order_is_import_order(project):
    assert label_all(project, "ana") == [f"i{k}" for k in range(6)]


def test_random_order_is_shuffled_stable_for_a_seed_and_covers_everything(tmp_path, db_url):
    n = 40
    with make_project(tmp_path / "a", db_url, n=n, order="random", seed=7) as project:
        shuffled = label_all(project, "ana")
        assert project.assignment_settings()["seed"] == 7
    assert sorted(shuffled) == sorted(f"i{k}" for k in range(n))
    assert shuffled != [f"i{k}" for k in range(n)]
    if db_url is not None:
        return  # one PostgreSQL database per test: the re-runs below need fresh projects
    with make_project(tmp_path / "b", db_url, n=n, order="random", seed=7) as again:
        assert label_all(again, "ana") == shuffled  # same seed, same order
    with make_project(tmp_path / "c", db_url, n=n, order="random", seed=8) as other:
        assert label_all(other, "ana") != shuffled


def test_configure_reorders_items_already_imported(tmp_path, db_url):
    with make_project(tmp_path, db_url, n=30, overlap=2) as project:
        settings = project.configure(order="random", seed=3, progress=False)
        assert settings == {"overlap": 2, "order": "random", "seed": 3, "lease_seconds": 600.0}
        shuffled = label_all(project, "ana")
        assert shuffled != sorted(shuffled, key=lambda key: int(key[1:]))
        project.configure(order="random", seed=3, progress=False)  # same seed: same keys
        assert label_all(project, "bob") == shuffled
        # the settings are saved with the project
        with Project.open(project.path, db_url=db_url) as reopened:
            assert reopened.assignment_settings()["seed"] == 3


def test_priority_order_highest_first_then_import_order(tmp_path, db_url):
    priority = [0, 5, 1, 5, -2, 0]
    with make_project(tmp_path, db_url, columns={"priority": priority}) as project:
        assert project.next_item("ana").key == "i0"  # sequential until configured
        project.configure(order="priority", progress=False)
        # by priority, ties in import order; i0 is leased to ana
        assert label_all(project, "bob") == ["i1", "i3", "i2", "i5", "i4"]
        # items imported later are ranked by the project's order too
        later = pd.DataFrame({"id": ["low", "high"], "text": ["a", "b"], "priority": [-9, 9]})
        project.import_items(later, id_column="id", progress=False)
        assert project.next_item("cem").key == "high"


def test_started_items_are_finished_before_new_ones(tmp_path, db_url):
    with make_project(tmp_path, db_url, overlap=3) as project:
        project.submit("i4", ANSWER, annotator="ana")
        project.submit("i4", ANSWER, annotator="bob")
        project.submit("i2", ANSWER, annotator="ana")
        # i4 lacks one answer, i2 two, the rest three: most-done first
        assert project.next_item("cem").key == "i4"
        assert project.next_item("dan").key == "i2"  # i4's last slot is leased to cem
        assert project.next_item("bob").key == "i2"


def test_invalid_settings_are_refused(tmp_path, db_url):
    with pytest.raises(ProjectError, match="order must be one of"):
        Project.create(tmp_path / "x", "classification", order="alphabetical")
    with pytest.raises(ProjectError, match="overlap"):
        Project.create(tmp_path / "y", "classification", overlap=0)
    with make_project(tmp_path, db_url) as project:
        with pytest.raises(ProjectError, match="lease_seconds"):
            project.configure(lease_seconds=-5)
        assert project.lease_seconds == 600.0


def test_cli_init_takes_assignment_options(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            *("init", str(tmp_path / "p"), "--template", "classification", "--overlap", "3"),
            *("--order", "random", "--seed", "11", "--lease-seconds", "120"),
        ],
    )
    assert result.exit_code == 0, result.output
    with Project.open(tmp_path / "p") as project:
        assert project.assignment_settings() == {
            "overlap": 3,
            "order": "random",
            "seed": 11,
            "lease_seconds": 120.0,
        }
    bad = CliRunner().invoke(
        cli, ["init", str(tmp_path / "q"), "--template", "classification", "--order", "abc"]
    )
    assert bad.exit_code == 2 and "abc" in bad.output


# ---------------------------------------------------------------------------- leases


def test_a_leased_item_is_not_handed_to_a_second_annotator(project):
    ana = project.next_item("ana")
    assert ana.lease_until == project.store.clock() + 600
    assert project.next_item("bob").key != ana.key
    assert project.next_item("ana").key == ana.key  # asking again: the same item


def test_overlap_hands_an_item_to_as_many_annotators_as_it_has_slots(tmp_path, db_url):
    with make_project(tmp_path, db_url, overlap=3) as project:
        keys = [project.next_item(name).key for name in ("a", "b", "c", "d")]
        assert keys == ["i0", "i0", "i0", "i1"]
        project.submit("i0", ANSWER, annotator="a")  # a's slot is filled, not freed
        assert project.next_item("e").key == "i1"


def test_expired_lease_frees_the_item_and_renewal_keeps_it(tmp_path, db_url):
    with make_project(tmp_path, db_url, n=1, lease_seconds=60) as project:
        clock = project.store.clock
        first = project.next_item("ana")
        clock.now += 45
        assert project.renew_lease(first, "ana") == clock.now + 60  # ana is still working
        clock.now += 45  # past the first lease's end, within the renewed one
        assert project.next_item("bob") is None
        clock.now += 30  # ana went quiet: the lease ran out
        assert project.next_item("bob").key == "i0"
        assert project.renew_lease(first, "ana") is None  # too late: the slot is bob's
        # ana's late answer is still kept (nothing is lost), and bob's slot stays bob's
        project.submit(first, ANSWER, annotator="ana")
        assert project.next_item("bob").key == "i0"
        assert project.annotations()["annotator"].tolist() == ["ana"]


def test_skip_releases_the_lease_at_once(project):
    item = project.next_item("ana")
    project.submit(item, status="skipped", annotator="ana")
    assert project.next_item("bob").key == item.key


def test_a_dead_sessions_lease_does_not_block_forever(tmp_path, db_url):
    with make_project(tmp_path, db_url, n=1, lease_seconds=30) as project:
        assert project.next_item("crashed").key == "i0"
        assert project.next_item("bob") is None
        project.store.clock.now += 31
        assert project.next_item("bob").key == "i0"


def test_session_shows_the_lease_and_renews_it_on_activity(tmp_path, db_url):
    from labelkit.ui import LabelSession

    with make_project(tmp_path, db_url, n=3, lease_seconds=100) as project:
        clock = project.store.clock
        session = LabelSession(project, "ana")
        payload = session.start()
        assert payload["lease_until"] == clock.now + 100 == session.progress()["lease_until"]
        leased = session.shown.item.key
        session._renewed_at -= 30  # a while later (monotonic), the annotator acts
        clock.now += 30
        assert session.renew() == clock.now + 100
        clock.now += 90  # past the first lease's end
        assert project.next_item("bob").key != leased
        payload = session.submit(payload["token"], "k" * 16, ANSWER)
        assert payload["lease_until"] == clock.now + 100
        # the answered item's lease ended with the submit, in the same commit
        with project.store.reading() as conn:
            rows = conn.exec_driver_sql("SELECT item_id, annotator_id FROM leases").all()
        ids = {project.item(k).id for k in (leased,)}
        assert not ids & {item_id for item_id, _ in rows}


def test_lease_end_is_stored_per_annotator(project):
    project.next_item("ana")
    project.next_item("bob")
    with project.store.reading() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM leases")).scalar_one()
    assert count == 2
    project.next_item("ana")  # the same item again: no second lease
    with project.store.reading() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM leases")).scalar_one() == 2
