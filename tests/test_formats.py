"""Formats beyond 8-bit RGB: each read, hashed and thumbnailed like an 8-bit
RGB copy of the same picture."""

import io
import random
import sys

import imagehash
import numpy as np
from PIL import Image, ImageCms

from ingest.demo import draw_cat
from ingest.pipeline import ingest

from .conftest import rows


def a_picture(seed: int) -> Image.Image:
    return draw_cat(random.Random(seed), 320, 240, "tabby")


def stored(db, name: str) -> tuple[str, str, Image.Image]:
    """(format, whash, thumbnail) of the picture of one file."""
    fmt, whash, png = rows(
        db,
        "select i.format, i.whash, t.png from files f join images i on i.id = f.image_id"
        " join thumbnails t on t.image_id = i.id where f.path = ?",
        [name],
    )[0]
    return fmt, whash, Image.open(io.BytesIO(png)).convert("RGB")


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def test_an_mpo_is_read_as_its_first_picture(tmp_path):
    source = tmp_path / "cats"
    source.mkdir()
    a_picture(1).save(source / "stereo.mpo", save_all=True, append_images=[a_picture(2)])
    with Image.open(source / "stereo.mpo") as mpo:
        assert mpo.n_frames == 2
        first = mpo.convert("RGB")  # the first picture, as decoded
    ingest(source, workers=1)
    assert rows(source / "cats.db", "select count(*) from errors") == [(0,)]
    fmt, whash, thumb = stored(source / "cats.db", "stereo.mpo")
    assert fmt == "MPO"
    assert whash == str(imagehash.whash(first))  # exactly imagehash's
    assert np.abs(np.asarray(thumb, int) - np.asarray(like(first, thumb), int)).mean() < 2


def like(picture: Image.Image, thumb: Image.Image) -> Image.Image:
    """The picture at a thumbnail's size."""
    return picture.resize(thumb.size, Image.LANCZOS)


def test_a_lab_tiff_is_read_through_colour_management(tmp_path):
    source = tmp_path / "cats"
    source.mkdir()
    rgb = a_picture(3)
    srgb, lab = ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB")
    ImageCms.profileToProfile(rgb, srgb, lab, outputMode="LAB").save(source / "lab.tif")
    ingest(source, workers=1)
    assert rows(source / "cats.db", "select count(*) from errors") == [(0,)]
    assert rows(source / "cats.db", "select format, mode from images") == [("TIFF", "LAB")]
    _, whash, thumb = stored(source / "cats.db", "lab.tif")
    assert hamming(whash, str(imagehash.whash(rgb))) <= 2  # Lab and back rounds a level or two
    assert np.abs(np.asarray(thumb, int) - np.asarray(like(rgb, thumb), int)).mean() < 3


def test_a_heic_is_read_with_pillow_heif_and_says_what_to_install_without(tmp_path, monkeypatch):
    import pillow_heif

    from ingest import analyse

    source = tmp_path / "cats"
    source.mkdir()
    picture = a_picture(4)
    pillow_heif.from_pillow(picture).save(source / "phone.heic", quality=90)
    # Without the extra: recorded, skipped, and the message says what to install.
    monkeypatch.setattr(analyse, "_heif_ready", False)
    monkeypatch.setitem(sys.modules, "pillow_heif", None)
    ingest(source, workers=1)
    error = rows(source / "cats.db", "select path, error from errors")
    assert error == [("phone.heic", analyse.HEIF_MISSING)]
    monkeypatch.undo()
    # With it: read, hashed as imagehash hashes the decoded picture.
    ingest(source, workers=1)
    assert rows(source / "cats.db", "select count(*) from errors") == [(0,)]
    pillow_heif.register_heif_opener()
    with Image.open(source / "phone.heic") as heic:
        decoded = heic.convert("RGB")
    fmt, whash, thumb = stored(source / "cats.db", "phone.heic")
    assert fmt == "HEIF" and whash == str(imagehash.whash(decoded))
    assert np.abs(np.asarray(thumb, int) - np.asarray(like(picture, thumb), int)).mean() < 4
