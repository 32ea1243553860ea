"""The folder panel: the folders under the thumbnails root as a tree with counts."""

from __future__ import annotations


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
