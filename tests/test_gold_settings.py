"""The `quality:` section of project.yaml: defaults from the field, clear errors."""

import pytest
import yaml

from labelkit import Project
from labelkit.gold import QualitySettingsError, quality_settings
from labelkit.gold.settings import parse


def test_defaults_are_the_fields():
    s = quality_settings({})
    assert (s.honeypot_rate, s.window, s.min_count, s.promotion_count) == (0.1, 10, 3, 10)
    assert (s.promote_at, s.retry_below, s.suspend_below) == (0.9, 0.8, 0.6)
    assert (s.rating_tolerance, s.slider_tolerance) == (1, 10)
    assert (s.rejections.min_reviewed, s.rejections.max_rate) == (4, 0.5)
    assert (s.fast.ratio, s.fast.suspend_after, s.fast.window) == (0.5, 5, 10)
    assert s.exams == {}


def test_exams_and_switching_rules_off():
    s = parse(
        {
            "fast": None,
            "rejections": None,
            "exams": {"basics": {"level": 1}, "fr": {"language": "FR", "questions": 5}},
        }
    )
    assert s.fast is None and s.rejections is None
    assert s.exam("basics").level == 1 and s.exam("basics").pass_rate == 0.8
    assert s.exam("fr").language == "fr" and s.exam("fr").questions == 5
    with pytest.raises(QualitySettingsError, match="unknown exam 'nope'"):
        s.exam("nope")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"honeypot_rate": 1.5}, r"quality.honeypot_rate: expected a number in \[0, 1\), got 1.5"),
        ({"window": 0}, "quality.window: expected a whole number of at least 1, got 0"),
        ({"window": "ten"}, "quality.window: expected a whole number of at least 1, got 'ten'"),
        ({"min_count": 12}, r"quality.min_count \(12\) cannot exceed quality.window \(10\)"),
        ({"promote_at": 0.5}, "suspend_below <= retry_below <= promote_at"),
        ({"windw": 5}, "unknown setting.s. windw"),
        ({"fast": {"ratio": 0}}, r"quality.fast.ratio: expected a number in \(0, 1\]"),
        ({"fast": {"suspend_after": 11}}, "suspend_after .11. cannot exceed"),
        ({"fast": {"speed": 1}}, "quality.fast: unknown setting.s. speed"),
        ({"rejections": {"max_rate": 2}}, "quality.rejections.max_rate"),
        ({"exams": {"basics": {"level": -1}}}, "quality.exams.basics.level"),
        ({"exams": {"basics": {"training": "yes"}}}, "quality.exams.basics.training"),
        ({"exams": {"basics": {"pass": 0.8}}}, "quality.exams.basics: unknown setting.s. pass"),
        ({"exams": ["basics"]}, "quality.exams: expected a mapping"),
        ("strict", "quality: expected a mapping"),
    ],
)
def test_bad_settings_name_the_key_and_why(section, message):
    with pytest.raises(QualitySettingsError, match=message):
        parse(section)


def test_a_project_with_bad_quality_settings_does_not_open(tmp_path):
    Project.create(tmp_path / "p", "classification").close()
    settings_file = tmp_path / "p" / "project.yaml"
    settings = yaml.safe_load(settings_file.read_text())
    settings["quality"] = {"window": -3}
    settings_file.write_text(yaml.safe_dump(settings))
    with pytest.raises(QualitySettingsError, match=r"project\.yaml quality\.window"):
        Project.open(tmp_path / "p")


def test_configure_quality_checks_saves_and_applies(tmp_path):
    with Project.create(tmp_path / "p", "classification") as project:
        with pytest.raises(QualitySettingsError):
            project.configure_quality(honeypot_rate=-1)
        project.configure_quality(honeypot_rate=0.25, fast=None)
        assert project.quality_settings.honeypot_rate == 0.25
        assert project.store.quality.settings.fast is None
    with Project.open(tmp_path / "p") as project:
        assert project.quality_settings.honeypot_rate == 0.25
        assert project.quality_settings.fast is None
