"""Formats beyond 8-bit RGB: each read, hashed and thumbnailed like an 8-bit
RGB copy of the same picture."""

import io
import json
import random
import sys
from fractions import Fraction
from pathlib import Path

import imagehash
import numpy as np
from click.testing import CliRunner
from PIL import Image, ImageCms

from ingest.camera_raw import RAW_MISSING
from ingest.cli import cli
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


XYZ_TO_SRGB = ((3.2406, -1.5372, -0.4986), (-0.9689, 1.8758, 0.0415), (0.0557, -0.2040, 1.0570))


def write_dng(picture: Image.Image, path: Path, white: int = 4095) -> None:
    """A DNG of the picture as a camera with an RGGB Bayer filter would record
    it: each photosite the linear light of its one colour. Its colour matrix
    says the camera sees linear sRGB, so developing it gives the picture back."""
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import (
        CalibrationIlluminant,
        CFAPattern,
        DNGVersion,
        Orientation,
        PhotometricInterpretation,
    )

    levels = np.asarray(picture.convert("RGB")) / 255
    linear = np.where(levels < 0.04045, levels / 12.92, ((levels + 0.055) / 1.055) ** 2.4)
    mosaic = np.empty(linear.shape[:2])
    for (row, column), channel in zip(((0, 0), (0, 1), (1, 0), (1, 1)), (0, 1, 1, 2), strict=True):
        mosaic[row::2, column::2] = linear[row::2, column::2, channel]
    height, width = mosaic.shape
    tags = DNGTags()
    for tag, value in (
        (Tag.ImageWidth, width),
        (Tag.ImageLength, height),
        (Tag.TileWidth, width),
        (Tag.TileLength, height),
        (Tag.Orientation, Orientation.Horizontal),
        (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
        (Tag.SamplesPerPixel, 1),
        (Tag.BitsPerSample, 16),
        (Tag.CFARepeatPatternDim, [2, 2]),
        (Tag.CFAPattern, CFAPattern.RGGB),
        (Tag.BlackLevel, 0),
        (Tag.WhiteLevel, white),
        (Tag.ColorMatrix1, [ratio(x) for row in XYZ_TO_SRGB for x in row]),
        (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
        (Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]]),
        (Tag.Make, "cattags"),
        (Tag.Model, "test camera"),
        (Tag.DNGVersion, DNGVersion.V1_4),
        (Tag.DNGBackwardVersion, DNGVersion.V1_2),
    ):
        tags.set(tag, value)
    writer = RAW2DNG()
    writer.options(tags, path="", compress=False)
    writer.convert(np.round(mosaic * white).astype(np.uint16), filename=str(path.with_suffix("")))


def ratio(x: float) -> list[int]:
    fraction = Fraction(x).limit_denominator(10_000)
    return [fraction.numerator, fraction.denominator]


def test_a_camera_raw_file_is_developed_and_says_what_to_install_without(tmp_path, monkeypatch):
    source = tmp_path / "cats"
    source.mkdir()
    picture = a_picture(5)
    write_dng(picture, source / "IMG_0001.dng")
    # Without the extra: recorded, skipped, and the message says what to install.
    monkeypatch.setitem(sys.modules, "rawpy", None)
    ingest(source, workers=1)
    error = rows(source / "cats.db", "select path, error from errors")
    assert error == [("IMG_0001.dng", RAW_MISSING)]
    monkeypatch.undo()
    # With it: developed (the file has no preview), hashed and thumbnailed
    # like the 8-bit RGB picture it was made from.
    ingest(source, workers=1)
    assert rows(source / "cats.db", "select count(*) from errors") == [(0,)]
    fmt, whash, thumb = stored(source / "cats.db", "IMG_0001.dng")
    assert fmt == "DNG" and hamming(whash, str(imagehash.whash(picture))) <= 2
    described = rows(source / "cats.db", "select size, format_description from images")
    assert described == [("320x240", "camera RAW, developed at half size")]
    assert np.abs(np.asarray(thumb, int) - np.asarray(like(picture, thumb), int)).mean() < 10
    # Beside a PNG of the same picture, the two files are listed as copies.
    picture.save(source / "the same as a png.png")
    ingest(source, workers=1)
    listed = CliRunner().invoke(cli, ["duplicates", "--db", str(source / "cats.db"), "--json"])
    (found,) = json.loads(listed.output)
    assert {f["path"] for p in found["pictures"] for f in p["files"]} == {
        "IMG_0001.dng",
        "the same as a png.png",
    }


def test_a_broken_raw_file_is_recorded_and_skipped(tmp_path):
    source = tmp_path / "cats"
    source.mkdir()
    (source / "broken.nef").write_bytes(b"II*\x00" + bytes(200))
    a_picture(6).save(source / "fine.jpg")
    summary = ingest(source, workers=1)
    assert summary.errors == 1
    ((path, stage, error),) = rows(source / "cats.db", "select path, stage, error from errors")
    assert (path, stage) == ("broken.nef", "decode") and error.startswith("broken camera RAW file")
