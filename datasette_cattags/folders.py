"""Folders as the pages show them: the panel's tree with counts, the one
label of the thumbnails root itself, and the chips a picture's cell shows."""

from __future__ import annotations

import json

from ingest.core import IMAGE_ID

TOP_LEVEL = "Top level"  # the thumbnails root itself, wherever a folder is named


def folder_label(folder: str | None) -> str:
    """How a page names a folder: its path, or TOP_LEVEL."""
    return folder or TOP_LEVEL


def chips(tags: list, image_id: str, folder: str) -> list[str]:
    """The tags worth a chip in the gallery: not the size (the tooltip and
    the picture page carry it), not the names of the picture's own folder
    (the folder chip shows them)."""
    size = IMAGE_ID.match(image_id)
    hidden = {f"{size[1]}x{size[2]}" if size else None, *(folder or "").split("/")}
    return [str(tag) for tag in tags if tag not in hidden]


def tag_chips(value, image_id: str = "", folder: str = "") -> list[str]:
    """chips() of a JSON array (an images.tags cell); [] for anything else."""
    try:
        tags = json.loads(value)
    except (TypeError, ValueError):
        return []
    return chips(tags, image_id, folder) if isinstance(tags, list) else []


def folder_tree(counts: list[list]) -> list[dict]:
    """[[folder, pictures], ...] as a flat, ordered tree: one dict per folder
    (path, name, depth, count of pictures directly in it), parents first,
    with the folders that only hold other folders included. The top level
    ('') is not part of the tree."""
    direct = {folder: count for folder, count in counts if folder}
    paths = set()
    for folder in direct:
        parts = folder.split("/")
        paths.update("/".join(parts[: n + 1]) for n in range(len(parts)))
    return [
        {
            "path": path,
            "name": path.rsplit("/", 1)[-1],
            "depth": path.count("/"),
            "count": direct.get(path, 0),
        }
        for path in sorted(paths, key=lambda p: p.split("/"))
    ]
