"""The researcher alone in a notebook is the local user: an admin who sees items of every level."""

import getpass

from labelkit import Project


def test_local_user_is_an_admin_who_sees_every_level(tmp_path):
    source = tmp_path / "items.jsonl"
    source.write_text(
        '{"id": "easy", "text": "a", "level": 0}\n{"id": "hard", "text": "b", "level": 3}\n'
    )
    with Project.create(tmp_path / "p", "classification", overlap=2) as project:
        project.import_items(source, id_column="id", progress=False)
        served = []
        while (item := project.next_item()) is not None:  # the local user
            served.append(item.key)
            project.submit(item, {"label": "billing"})
        assert served == ["easy", "hard"]
        assert project.annotators.get(getpass.getuser()).role == "admin"
        # a named annotator at level 0 is still held to their level
        assert project.next_item("ana").key == "easy"
        project.submit("easy", {"label": "billing"}, annotator="ana")
        assert project.next_item("ana") is None
        assert project.label().session.annotator == getpass.getuser()
