"""`cattags ingest --fast`: big pictures decoded at a reduced scale, one mode
per database."""

import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from ingest.analyse import Contents, analyse_file, decode
from ingest.cli import cli
from ingest.core import FAST_SIDE, hamming, reduction
from ingest.errors import CattagsError
from ingest.pipeline import ingest

from .conftest import rows, writable_copy

SIZES = [(2000, 1500), (1500, 2000), (1200, 900), (1024, 768)]


def photo(seed: int, size: tuple[int, int]) -> Image.Image:
    """A seeded cat with sensor-like noise, photo-shaped."""
    from ingest.demo import draw_cat

    img = draw_cat(random.Random(seed), *size, ("tabby", "black", "ginger", "grey")[seed % 4])
    noise = np.random.default_rng(seed).integers(-10, 11, (size[1], size[0], 3))
    return Image.fromarray(np.clip(np.asarray(img, dtype=np.int16) + noise, 0, 255).astype("u1"))


@pytest.fixture(scope="module")
def big_photos(tmp_path_factory) -> Path:
    """Four JPEGs and one PNG of 0.8 to 3 megapixels, plus a half-size copy."""
    root = tmp_path_factory.mktemp("big") / "photos"
    (root / "roll").mkdir(parents=True)
    for seed, size in enumerate(SIZES):
        photo(seed, size).save(root / "roll" / f"IMG_{seed}.jpg", quality=90)
    photo(9, (1600, 1200)).save(root / "roll" / "scan.png")
    half = photo(0, SIZES[0]).resize((1000, 750), Image.Resampling.BICUBIC)
    (root / "copies").mkdir()
    half.save(root / "copies" / "IMG_0_small.jpg", quality=75)
    return root


@pytest.fixture
def photos(big_photos, tmp_path) -> Path:
    return writable_copy(big_photos, tmp_path)


def test_reduction_is_the_factor_of_a_scaled_jpeg_decode(big_photos):
    path = big_photos / "roll" / "IMG_0.jpg"
    data = path.read_bytes()
    img, full_size = decode(Contents(len(data), "", data), FAST_SIDE)
    assert full_size == (2000, 1500)
    scale = reduction(2000, 1500, FAST_SIDE)
    assert scale == 4 and img.size == (500, 375)  # decoded at 1/4, short side still >= 256
    assert reduction(600, 400, FAST_SIDE) == 1 and reduction(4000, 3000, FAST_SIDE) == 8


def test_fast_hashes_are_close_to_exact_and_the_row_keeps_the_full_size(big_photos):
    for path in sorted(big_photos.rglob("*.*")):
        exact = analyse_file(path, path.name, 64, "exact")
        fast = analyse_file(path, path.name, 64, "fast")
        assert (fast.image["width"], fast.image["height"]) == (
            exact.image["width"],
            exact.image["height"],
        )
        assert fast.image["id"].startswith(exact.image["size"] + "_")
        for name in ("whash", "phash", "dhash"):
            assert hamming(fast.image[name], exact.image[name]) <= 6, (path.name, name)
        assert (fast.image["thumb_width"], fast.image["thumb_height"]) == (
            exact.image["thumb_width"],
            exact.image["thumb_height"],
        )


def test_fast_ingest_records_its_mode_and_finds_the_copy(photos):
    summary = ingest(photos, workers=1, mode="fast")
    db = photos / "photos.db"
    assert summary.errors == 0 and summary.new_images == 6
    settings = dict(rows(db, "select key, value from settings"))
    assert settings["hash_mode"] == "fast"
    sizes = {size for (size,) in rows(db, "select size from images")}
    assert {"2000x1500", "1500x2000", "1600x1200"} <= sizes
    pairs = rows(
        db,
        "select a.size, b.size from pairs p join images a on a.id = p.image_a"
        " join images b on b.id = p.image_b where p.near_duplicate",
    )
    assert sorted(map(sorted, pairs)) == [["1000x750", "2000x1500"]]
    # A later run without the option keeps the database's mode.
    photo(5, (1800, 1200)).save(photos / "roll" / "IMG_5.jpg", quality=90)
    ingest(photos, workers=1)
    assert dict(rows(db, "select key, value from settings"))["hash_mode"] == "fast"
    new = rows(db, "select whash from images where size = '1800x1200'")[0][0]
    expected = analyse_file(photos / "roll" / "IMG_5.jpg", "x", 64, "fast").image["whash"]
    assert new == expected


def test_a_database_never_mixes_modes(photos):
    ingest(photos, workers=1)
    db = photos / "photos.db"
    before = rows(db, "select id from images order by id")
    assert dict(rows(db, "select key, value from settings"))["hash_mode"] == "exact"
    with pytest.raises(CattagsError, match="hashed in exact mode"):
        ingest(photos, workers=1, mode="fast")
    result = CliRunner().invoke(cli, ["ingest", str(photos), "--fast", "-s"])
    assert result.exit_code == 1
    assert "never mixes exact and fast" in result.output and "Traceback" not in result.output
    assert rows(db, "select id from images order by id") == before
    assert dict(rows(db, "select key, value from settings"))["hash_mode"] == "exact"
    # Asking for the mode it already has is fine.
    assert ingest(photos, workers=1, mode="exact").unchanged == 6


def test_a_database_from_before_modes_counts_as_exact(photos):
    ingest(photos, workers=1)
    db = photos / "photos.db"
    with sqlite3.connect(db) as conn:
        conn.execute("delete from settings where key = 'hash_mode'")
    with pytest.raises(CattagsError, match="hashed in exact mode"):
        ingest(photos, workers=1, mode="fast")
    ingest(photos, workers=1)
    assert dict(rows(db, "select key, value from settings"))["hash_mode"] == "exact"


def test_the_cli_option_reaches_the_database(photos):
    result = CliRunner().invoke(cli, ["ingest", str(photos), "--fast", "-s", "--workers", "1"])
    assert result.exit_code == 0, result.output
    settings = dict(rows(photos / "photos.db", "select key, value from settings"))
    assert settings["hash_mode"] == "fast"
