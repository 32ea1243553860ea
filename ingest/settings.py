"""What a database says about itself: every key of its `settings` table,
typed, with its default, parsed and written back in one place.

The table holds text (`key`, `value`); Settings is what the rest of the
code reads, and `settings_rows` is the only way values go back into it, so
a key that does not exist, or a value of the wrong type, is refused where
it is written. A key the database does not hold reads as its default, and
`present` says which keys it holds (a search asked the same question as
the last one only when that one was stored).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields

from .core import DEFAULT_SIZE
from .errors import CattagsError

DEFAULT_NEIGHBOURS = 5  # nearest cats kept per picture
DEFAULT_RULE = "phash+dhash<=18"  # the near-duplicate rule (matching.py)
HASH_MODES = ("exact", "fast")


class BadSetting(CattagsError):
    """A settings row that cannot be read as its type."""


@dataclass(frozen=True)
class Settings:
    """A database's settings. None: not set yet (before the first ingest)."""

    source_root: str | None = None  # where the pictures were read from (see store.path_setting)
    thumbs_root: str | None = None  # where the thumbnails are
    thumb_size: int = DEFAULT_SIZE  # longest side of a thumbnail, px
    hash_algorithm: str = "whash"  # what names a picture (always whash)
    hash_size: int = 8  # bits a side of that hash
    hash_mode: str | None = None  # "exact" or "fast"; one database never mixes them
    look: str | None = None  # the kind of looks the looks table holds (looks.LookKind.version)
    looks_grouped: int = 0  # looks there were when the pictures were last grouped
    neighbours: int = DEFAULT_NEIGHBOURS  # nearest pictures kept for each picture
    rule: str = DEFAULT_RULE  # the near-duplicate rule
    crops: bool = False  # also search cropped and framed variants
    files_searched: int = 0  # the last files rowid the near-duplicate search has seen
    present: frozenset[str] = frozenset()  # the keys the database holds

    @classmethod
    def parse(cls, rows: Mapping[str, str | None], lenient: bool = False) -> Settings:
        """Settings from the table's rows; keys it does not know are kept out.
        A malformed value is BadSetting, or its default when `lenient` (a
        server showing a database it did not write)."""
        values: dict[str, object] = {}
        for field in setting_fields():
            text = rows.get(field.name)
            if text is None:
                continue
            try:
                values[field.name] = parse_value(field.type, text)
            except ValueError:
                if lenient:
                    continue
                raise BadSetting(
                    f"the database's setting {field.name} = {text!r} is not a {field.type}"
                ) from None
        return cls(**values, present=frozenset(values))

    def stored(self, name: str) -> bool:
        """Whether the database holds this key."""
        return name in self.present


def setting_fields() -> list[dataclasses.Field]:
    return [field for field in fields(Settings) if field.name != "present"]


def parse_value(kind: str, text: str) -> object:
    if "int" in kind:
        return int(text)
    if "bool" in kind:
        if text not in ("0", "1"):
            raise ValueError(text)
        return text == "1"
    return text


def settings_rows(**values: object) -> dict[str, str]:
    """Rows for the settings table from typed values; CattagsError for a key
    Settings does not have or a value of the wrong type."""
    kinds = {field.name: field.type for field in setting_fields()}
    rows = {}
    for name, value in values.items():
        if name not in kinds:
            raise CattagsError(f"there is no setting {name!r}")
        kind = kinds[name]
        if isinstance(value, bool) != ("bool" in kind) or not isinstance(
            value, int if "int" in kind or "bool" in kind else str
        ):
            raise CattagsError(f"the setting {name} is a {kind}, not {value!r}")
        rows[name] = str(int(value)) if isinstance(value, bool) else str(value)
    return rows
