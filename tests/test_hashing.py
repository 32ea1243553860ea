"""whash must equal imagehash's bit for bit; hashes round-trip through hex."""

import io
import random
import subprocess
import sys

import imagehash
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from ingest.analyse import analyse_file
from ingest.core import hamming, hex_to_int64, int64_to_hex
from ingest.demo import draw_cat
from ingest.hashing import whash, working_scale
from ingest.library import open_database

# (format, suffix, modes that format stores)
FORMATS = [
    ("JPEG", ".jpg", ["L", "RGB", "CMYK"]),
    ("PNG", ".png", ["L", "LA", "RGB", "RGBA", "P", "I;16"]),
    ("GIF", ".gif", ["P", "L"]),
    ("WEBP", ".webp", ["RGB", "RGBA"]),
    ("TIFF", ".tif", ["L", "LA", "RGB", "RGBA", "CMYK", "I;16"]),
]
CONTENTS = ["noise", "flat", "halves", "gradient", "stripes", "cat"]
SIZES = [
    (1, 1),
    (1, 7),
    (9, 1),
    (2, 3),
    (7, 7),
    (8, 8),
    (15, 17),
    (16, 16),
    (31, 33),
    (64, 48),
    (100, 3),
    (3, 100),
    (255, 257),
    (513, 200),
    (1, 900),
    (700, 2),
    (333, 333),
]


def synthetic(rng: random.Random, size: tuple[int, int], content: str) -> Image.Image:
    """An RGB picture of a given kind: the kinds that stress ties and rounding."""
    w, h = size
    nprng = np.random.default_rng(rng.randrange(1 << 30))
    if content == "noise":
        pixels = nprng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    elif content == "flat":
        pixels = np.full((h, w, 3), rng.randrange(256), dtype=np.uint8)
    elif content == "halves":
        pixels = np.zeros((h, w, 3), dtype=np.uint8)
        pixels[: h // 2] = rng.randrange(256)
    elif content == "gradient":
        ramp = np.add.outer(np.arange(h) * rng.randrange(1, 5), np.arange(w)) % 256
        pixels = np.repeat(ramp.astype(np.uint8)[..., None], 3, axis=2)
    elif content == "stripes":
        pixels = np.zeros((h, w, 3), dtype=np.uint8)
        pixels[:, :: rng.randrange(2, 9)] = 255
    else:
        return draw_cat(rng, w, h, rng.choice(["tabby", "calico", "black"]))
    return Image.fromarray(pixels, "RGB")


def in_mode(img: Image.Image, mode: str) -> Image.Image:
    if mode == "I;16":
        wide = np.asarray(img.convert("L"), dtype=np.uint16) * 257
        return Image.fromarray(wide)  # uint16 gives I;16
    if mode == "P":
        return img.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    return img.convert(mode)


def generated_files():
    """At least 500 encoded pictures: every size x format x mode, contents rotating."""
    rng = random.Random(2024)
    cases = []
    for size in SIZES:
        for fmt, suffix, modes in FORMATS:
            for mode in modes:
                cases.append((size, fmt, suffix, mode, CONTENTS[len(cases) % len(CONTENTS)]))
    for _ in range(200):  # random sizes, some extreme aspect ratios
        size = (
            (rng.randint(1, 1200), rng.randint(1, 60))
            if rng.random() < 0.3
            else (rng.randint(8, 700), rng.randint(8, 700))
        )
        fmt, suffix, modes = rng.choice(FORMATS)
        cases.append((size, fmt, suffix, rng.choice(modes), rng.choice(CONTENTS)))
    for size, fmt, suffix, mode, content in cases:
        img = in_mode(synthetic(rng, size, content), mode)
        buffer = io.BytesIO()
        img.save(buffer, fmt)
        yield size, fmt, suffix, mode, content, buffer.getvalue()


def test_whash_equals_imagehash_on_many_generated_pictures():
    checked, modes, formats = 0, set(), set()
    for size, fmt, _suffix, mode, content, data in generated_files():
        expected = str(imagehash.whash(Image.open(io.BytesIO(data))))
        got = whash(Image.open(io.BytesIO(data)))
        assert got == expected, (size, fmt, mode, content)
        checked += 1
        modes.add(Image.open(io.BytesIO(data)).mode)
        formats.add(fmt)
    assert checked >= 500
    assert {"L", "LA", "RGB", "RGBA", "P", "I;16", "CMYK"} <= modes
    assert formats == {"JPEG", "PNG", "GIF", "WEBP", "TIFF"}


def test_ingest_analysis_whash_equals_imagehash_of_the_file(tmp_path):
    rng = random.Random(5)
    for number, (w, h) in enumerate([(1, 1), (5, 400), (640, 480), (333, 999), (1024, 768)]):
        path = tmp_path / f"cat{number}.jpg"
        draw_cat(rng, w, h, "ginger").save(path, quality=80)
        result = analyse_file(path, path.name, 64)
        assert result.image["whash"] == str(imagehash.whash(Image.open(path)))
        assert result.image["id"] == f"{w}x{h}_{result.image['whash']}"


@pytest.mark.parametrize(
    "size, scale",
    [
        ((1, 1), 8),
        ((7, 300), 8),
        ((8, 8), 8),
        ((15, 15), 8),
        ((16, 9), 8),
        ((17, 40), 16),
        ((1023, 2000), 512),
        ((1024, 1024), 1024),
    ],
)
def test_working_scale_is_the_largest_power_of_two_not_above_the_short_side(size, scale):
    assert working_scale(*size) == scale


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_hash_hex_round_trips_through_signed_integer(value):
    text = f"{value:016x}"
    signed = hex_to_int64(text)
    assert -(1 << 63) <= signed < (1 << 63)
    assert int64_to_hex(signed) == text


@given(st.integers(0, (1 << 64) - 1), st.integers(0, (1 << 64) - 1))
def test_hamming_agrees_on_hex_and_integers(a, b):
    expected = bin(a ^ b).count("1")
    assert hamming(f"{a:016x}", f"{b:016x}") == expected
    assert hamming(hex_to_int64(f"{a:016x}"), b) == expected


@pytest.mark.parametrize(
    "a, b",
    [
        (None, "00"),
        ("zz", "00"),
        ("0x1f", "1f"),
        ("1" * 17, "0"),
        (1.5, 1),
        (1 << 64, 0),
        (b"\x00", 0),
    ],
)
def test_hamming_is_null_for_null_or_malformed_input(a, b):
    assert hamming(a, b) is None


def test_hamming_is_a_sql_function_of_the_library(tmp_path):
    db = open_database(tmp_path / "x.db")
    got = db.execute(
        "select hamming('ffffffffffffffff', 0), hamming(-1, 0), hamming('0f', 'f0'), hamming(null, 1)"
    ).fetchone()
    assert got == (64, 64, 8, None)


@pytest.mark.parametrize("side", [1024, 2048])
def test_ties_at_the_median_on_large_pictures_equal_imagehash(side):
    """Block-constant pictures tie at the median: the blockwise wavelet steps
    must reproduce imagehash's floats exactly at working sizes where imagehash
    itself needs hundreds of MB."""
    rng = np.random.default_rng(side)
    for levels in ([0, 100, 200], [7], [3, 3, 3, 250]):
        grid = rng.choice(levels, (8, 8)).astype(np.uint8)
        pixels = np.kron(grid, np.ones((side // 8, side // 8), dtype=np.uint8))
        # A little noise in one corner block, so not every block is the same.
        pixels[: side // 8, : side // 8] += rng.integers(0, 3, (side // 8, side // 8), np.uint8)
        img = Image.fromarray(pixels)
        assert whash(img) == str(imagehash.whash(img)), (side, levels)


def test_a_flat_picture_near_the_pixel_limit_is_hashed_in_little_memory(tmp_path):
    """9400 x 9400, all zero: an 8192 px working picture that ties everywhere.
    imagehash needs ~3 GB for it; a worker here stays under 1 GB."""
    path = tmp_path / "flat.png"
    Image.new("RGB", (9400, 9400)).save(path, compress_level=1)
    code = (
        "import resource\n"
        "from pathlib import Path\n"
        "from ingest.analyse import analyse_file\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
        f"result = analyse_file(Path({str(path)!r}), 'flat.png', 64)\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
        "print(result.image['whash'], peak - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    digest, extra_mb = out.stdout.split()
    assert digest == "0" * 16
    assert int(extra_mb) < 1024, extra_mb  # imagehash itself needs ~2,900 MB
