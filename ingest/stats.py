"""`cattags stats`: counts, top tags and the nearest-distance histogram."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw
from sqlite_utils import Database

BAR_WIDTH = 40  # characters for the longest bar in the text histogram
TOP_TAGS = 10


@dataclass
class Stats:
    """A snapshot of a cattags database."""

    counts: dict[str, int]
    top_tags: list[tuple[str, int]]
    nearest: list[tuple[int, int]]  # (distance, pictures whose nearest is that far)


def collect_stats(db: Database) -> Stats:
    """Read the numbers from the database."""

    def one(sql: str) -> int:
        return db.execute(sql).fetchone()[0]

    counts = {
        "images": one("SELECT count(*) FROM images"),
        "files": one("SELECT count(*) FROM files"),
        "missing files": one("SELECT count(*) FROM files WHERE missing_since IS NOT NULL"),
        "errors": one("SELECT count(*) FROM errors"),
        "tags": one("SELECT count(DISTINCT tag) FROM image_tags"),
        "near-duplicate pairs": one("SELECT count(*) FROM pairs WHERE near_duplicate = 1"),
        "near-duplicate groups": one("SELECT count(DISTINCT cluster) FROM images"),
        "moves": one("SELECT count(*) FROM moves"),
    }
    top = db.execute(
        "SELECT tag, count(*) FROM image_tags GROUP BY tag ORDER BY 2 DESC, 1 LIMIT ?", [TOP_TAGS]
    ).fetchall()
    nearest = db.execute(
        "SELECT nearest_distance, count(*) FROM images WHERE nearest_distance IS NOT NULL"
        " GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return Stats(counts, [(t, n) for t, n in top], [(d, n) for d, n in nearest])


def stats_lines(stats: Stats) -> list[str]:
    """The report as text, histogram included."""
    lines = [f"{name}: {value:,}" for name, value in stats.counts.items()]
    lines.append("")
    lines.append("top tags:")
    lines += [f"  {tag:<24} {count:,}" for tag, count in stats.top_tags]
    lines.append("")
    lines.append("distance to the nearest picture (whash bits): pictures")
    peak = max((n for _, n in stats.nearest), default=0)
    for distance, count in stats.nearest:
        bar = "#" * max(1, round(count / peak * BAR_WIDTH))
        lines.append(f"  {distance:>2} {bar} {count:,}")
    return lines


def plot_nearest(stats: Stats, path: Path, width: int = 640, height: int = 360) -> None:
    """The nearest-distance histogram as a PNG bar chart."""
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    margin = 40
    draw.text((margin, 10), "distance to the nearest picture (whash bits)", fill="black")
    if stats.nearest:
        low, high = 0, max(d for d, _ in stats.nearest)
        peak = max(n for _, n in stats.nearest)
        slot = (width - 2 * margin) / (high - low + 1)
        for distance, count in stats.nearest:
            x0 = margin + (distance - low) * slot
            top = height - margin - (height - 2 * margin - 20) * count / peak
            draw.rectangle([x0 + 1, top, x0 + slot - 1, height - margin], fill=(70, 110, 180))
            draw.text((x0 + 2, top - 12), str(count), fill="black")
            draw.text((x0 + 2, height - margin + 4), str(distance), fill="black")
    draw.line([margin, height - margin, width - margin, height - margin], fill="black")
    img.save(path, "PNG")
