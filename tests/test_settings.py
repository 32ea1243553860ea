"""The settings object: every key typed, with its default, read and
written through one owner."""

import pytest

from ingest.errors import CattagsError
from ingest.library import open_database
from ingest.settings import DEFAULT_RULE, BadSetting, Settings, settings_rows
from ingest.store import read_settings, save_settings


def test_settings_read_typed_with_defaults_and_say_what_is_stored():
    settings = Settings.parse({"thumb_size": "96", "crops": "1", "unknown": "x"})
    assert settings.thumb_size == 96 and settings.crops is True
    assert settings.rule == DEFAULT_RULE and not settings.stored("rule")
    assert settings.stored("crops") and settings.present == {"thumb_size", "crops"}


def test_a_malformed_setting_is_refused_or_its_default_for_a_server():
    with pytest.raises(BadSetting, match="thumb_size = 'big'"):
        Settings.parse({"thumb_size": "big"})
    assert Settings.parse({"thumb_size": "big", "crops": "yes"}, lenient=True) == Settings()


def test_only_known_settings_of_the_right_type_are_written(tmp_path):
    assert settings_rows(neighbours=7, crops=False, rule="dhash<=9") == {
        "neighbours": "7",
        "crops": "0",
        "rule": "dhash<=9",
    }
    for bad in ({"colour": "red"}, {"neighbours": "7"}, {"crops": 1}, {"rule": 5}):
        with pytest.raises(CattagsError):
            settings_rows(**bad)
    db = open_database(tmp_path / "a.db")
    save_settings(db, {"neighbours": 9, "thumbs_root": tmp_path / "thumbs"})
    settings = read_settings(db)
    assert settings.neighbours == 9 and settings.thumbs_root == "thumbs"
