"""What names a picture, in one place: its id, "{w}x{h}_{whash}", its
thumbnail's file name, "{id}_.png", and a thumbnail's default size.

The shared vocabulary of every layer (reading, storing, searching and the
plugin), so it imports nothing of the project's and nothing beyond the
standard library: the serving install imports it too.
"""

from __future__ import annotations

import re

DEFAULT_SIZE = 64  # px, longest side: the prototype found 64 "just about right"
IMAGE_ID = re.compile(r"^(\d+)x(\d+)_([0-9a-f]{16})$")
THUMBNAIL_NAME = re.compile(r"^(\d+)x(\d+)_([0-9a-f]{16})_\.png$")
THUMBNAIL_SUFFIX = "_.png"


def size_text(width: int, height: int) -> str:
    """A picture's size as the `size` column and its tag spell it: "{w}x{h}"."""
    return f"{width}x{height}"


def image_id(width: int, height: int, whash: str) -> str:
    """The picture's identity: "{w}x{h}_{whash}"."""
    return f"{size_text(width, height)}_{whash}"


def is_image_id(value: object) -> bool:
    """Whether a value is a picture's id."""
    return isinstance(value, str) and IMAGE_ID.match(value) is not None


def thumbnail_name(identity: str) -> str:
    """File name of a thumbnail: "{w}x{h}_{whash}_.png"."""
    return f"{identity}{THUMBNAIL_SUFFIX}"


def id_from_thumbnail_name(name: str) -> str | None:
    """The identity in a thumbnail file name, or None if it is not one."""
    return name[: -len(THUMBNAIL_SUFFIX)] if THUMBNAIL_NAME.match(name) else None
