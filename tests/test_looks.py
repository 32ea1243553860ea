"""Looks: the descriptor, looks_like() against a full scan, look-alike
groups and the look order, made at ingest and kept as pictures arrive."""

import json
import random
import shutil
import sqlite3

import imagehash
import numpy as np
import pytest
from PIL import Image

from ingest.demo import FUR, draw_cat, write_demo_pictures
from ingest.library import open_database
from ingest.lookgroups import save_looks
from ingest.looks import LOOK_BYTES, is_flat_look, look_of
from ingest.lookup import MAX_HITS
from ingest.pipeline import ingest

from .conftest import rows

KINDS = tuple(FUR)


def test_a_look_is_small_the_same_every_time_and_flat_for_one_colour():
    rng = random.Random(3)
    cat = draw_cat(rng, 64, 48, "tabby")
    look = look_of(cat)
    assert len(look) == LOOK_BYTES <= 256
    assert look_of(cat.copy()) == look
    assert look_of(cat.convert("RGBA")) == look  # modes do not change it
    for flat in (Image.new("RGB", (1, 1), "red"), Image.new("L", (7, 3), 90)):
        assert is_flat_look(look_of(flat))
    assert not is_flat_look(look)


def squared(a: bytes, b: bytes) -> int:
    return int(((np.frombuffer(a, np.uint8).astype(int) - np.frombuffer(b, np.uint8)) ** 2).sum())


@pytest.fixture
def library(cats):
    ingest(cats, workers=1)
    return cats / "cats.db"


def test_looks_like_equals_a_full_scan_ties_included(library):
    db = open_database(library)
    looks = dict(db.execute("select image_id, look from looks").fetchall())
    rowid = dict(db.execute("select id, rowid from images").fetchall())
    assert set(looks) == set(rowid)  # every picture has its look
    for image_id in sorted(looks)[:8]:
        for k in (1, 5, 12):
            got = json.loads(db.execute("select looks_like(?, ?)", [image_id, k]).fetchone()[0])
            scan = sorted(
                (squared(looks[image_id], look), rowid[other])
                for other, look in looks.items()
                if other != image_id
            )
            kth = scan[k - 1][0]
            assert got == [[r, d] for d, r in scan if d <= kth]
    # A look given as hex is a query too (the picture itself is then listed).
    first = sorted(looks)[0]
    hits = json.loads(db.execute("select looks_like(?, 1)", [looks[first].hex()]).fetchone()[0])
    assert hits[0] == [rowid[first], 0]
    assert db.execute(
        "select looks_like('nonsense', 3), looks_like(?, 'x')", [first]
    ).fetchone() == (
        None,
        None,
    )


def test_looks_like_returns_at_most_max_hits(tmp_path):
    db = open_database(tmp_path / "same.db")
    look = look_of(draw_cat(random.Random(1), 64, 48, "grey"))
    for n in range(1, MAX_HITS + 21):
        db.execute(
            "insert into images (id, width, height, size, whash, whash_int)"
            " values (?, ?, 1, ?, ?, 0)",
            [f"{n}x1_{'0' * 16}", n, f"{n}x1", "0" * 16],
        )
        db.execute("insert into looks (image_id, look) values (?, ?)", [f"{n}x1_{'0' * 16}", look])
    db.conn.commit()
    hits = json.loads(db.execute("select looks_like(?, 2)", [look.hex()]).fetchone()[0])
    assert len(hits) == MAX_HITS + 1 and hits[-1] == [None, 0, 20]


def kind_of(path: str) -> str:
    return next(kind for kind in KINDS if kind in path)


def test_look_alikes_share_the_kind_of_cat_far_more_often_than_whash_neighbours(tmp_path):
    """On the demo, kinds differ by the cat's colour in the middle of the
    picture, on random backgrounds."""
    source = tmp_path / "cats"
    write_demo_pictures(source, count=150, seed=11, max_side=300)
    ingest(source, workers=1)
    db = open_database(source / "cats.db")
    kind = {i: kind_of(p) for p, i in db.execute("select path, image_id from files")}
    by_rowid = dict(db.execute("select rowid, id from images").fetchall())
    look_share, whash_share = [], []
    for image_id in sorted(kind):
        for function, share in (("looks_like", look_share), ("nearest_images", whash_share)):
            hits = json.loads(db.execute(f"select {function}(?, 5)", [image_id]).fetchone()[0])
            share += [kind[by_rowid[r]] == kind[image_id] for r, _ in hits[:5]]
    assert np.mean(look_share) > 0.7 and np.mean(look_share) > np.mean(whash_share) + 0.2


def test_every_picture_is_grouped_and_ordered_with_its_group_together(library):
    groups = rows(library, "select look, pictures, position from look_groups order by look")
    assert 5 <= len(groups) <= 20
    assert [g[0] for g in groups] == list(range(1, len(groups) + 1))
    assert [g[2] for g in groups] == list(range(len(groups)))  # numbered in look order
    pictures = rows(library, "select look, look_order, flat from images order by look_order")
    assert [p[1] for p in pictures] == list(range(1, len(pictures) + 1))
    assert all(p[0] is not None for p in pictures if not p[2])
    in_order = [p[0] for p in pictures]
    assert in_order == sorted(in_order)  # each group in one run, groups in order
    sizes = dict(rows(library, "select look, count(*) from images group by look"))
    assert all(sizes[g[0]] == g[1] for g in groups)


def test_new_pictures_join_the_nearest_group_and_the_groups_stay(library, tmp_path):
    before = rows(library, "select look, centre from look_groups order by look")
    source = library.parent
    extra = source / "extra"
    extra.mkdir()
    rng = random.Random(99)
    draw_cat(rng, 300, 200, "ginger").save(extra / "new-cat.png")
    ingest(source, workers=1)
    assert rows(library, "select look, centre from look_groups order by look") == before
    (look,) = rows(
        library,
        "select i.look from images i join files f on f.image_id = i.id"
        " where f.path = 'extra/new-cat.png'",
    )[0]
    assert look is not None
    order = [r[0] for r in rows(library, "select look_order from images order by look_order")]
    assert order == list(range(1, len(order) + 1))


def test_one_colour_pictures_are_left_out_of_the_groups(tmp_path):
    source = tmp_path / "cats"
    write_demo_pictures(source, count=30, seed=4, max_side=200)
    Image.new("RGB", (40, 30), "navy").save(source / "blank.png")
    ingest(source, workers=1)
    (look, place, last) = rows(
        source / "cats.db",
        "select i.look, i.look_order, (select max(look_order) from images) from images i"
        " join files f on f.image_id = i.id where f.path = 'blank.png'",
    )[0]
    assert look is None and place == last


def test_an_older_database_gets_its_looks_from_its_thumbnails(library):
    db = open_database(library)
    made = dict(db.execute("select image_id, look from looks").fetchall())
    db.execute("delete from looks")
    db.execute("delete from look_groups")
    db.execute("update images set look = null, look_order = null")
    db.conn.commit()
    summary = save_looks(db, regroup=True)
    assert summary.made == len(made) and 5 <= summary.groups <= 20
    assert dict(db.execute("select image_id, look from looks").fetchall()) == made


def test_the_plugin_offers_looks_like_on_its_connections(library):
    from datasette.app import Datasette

    ds = Datasette([str(library)])
    image_id = rows(library, "select id from images order by id limit 1")[0][0]

    async def ask():
        return await ds.client.get(
            "/cats.json",
            params={"sql": "select looks_like(:id, 3) as hits", "id": image_id, "_shape": "array"},
            follow_redirects=True,
        )

    import asyncio

    answer = asyncio.run(ask())
    assert len(json.loads(answer.json()[0]["hits"])) == 3


def test_whash_is_untouched_by_looks(library):
    """Looks add a table and two columns; the picture ids stay imagehash's."""
    for path, image_id in rows(library, "select path, image_id from files limit 5"):
        with Image.open(library.parent / path) as img:
            assert image_id.endswith(str(imagehash.whash(img)))
    shutil.copy(library, library.parent / "copy.db")
    assert sqlite3.connect(library.parent / "copy.db").execute("pragma quick_check").fetchone() == (
        "ok",
    )


def test_the_looks_are_read_on_a_connection_of_their_own(tmp_path):
    """A time limit on the caller's statement (Datasette's progress handler)
    never stops the one read of every look that later calls reuse."""
    import sqlite3 as sqlite

    from ingest.library import register_functions
    from ingest.lookup import _SHARED

    path = tmp_path / "many.db"
    db = open_database(path)
    rng = np.random.default_rng(8)
    for n in range(1, 3001):
        image_id = f"{n}x1_{n:016x}"
        db.execute(
            "insert into images (id, width, height, size, whash, whash_int)"
            " values (?, ?, 1, ?, ?, ?)",
            [image_id, n, f"{n}x1", f"{n:016x}", n],
        )
        look = rng.integers(0, 128, LOOK_BYTES, dtype=np.uint8).tobytes()
        db.execute("insert into looks (image_id, look) values (?, ?)", [image_id, look])
    db.conn.commit()
    db.close()
    conn = sqlite.connect(path)
    register_functions(conn)
    conn.set_progress_handler(lambda: 1, 500)  # stops any statement after 500 steps
    with pytest.raises(sqlite.OperationalError):  # what reading 3,000 looks here would meet
        conn.execute("select count(*) from looks join images on images.id = looks.image_id")
    hits = json.loads(conn.execute("select looks_like('1x1_0000000000000001', 3)").fetchone()[0])
    assert len(hits) == 3
    assert str(path) in _SHARED


def gallery(library, path="/cats/images", immutable=False):
    """The gallery page's HTML, from a real Datasette (the plugin registered)."""
    import asyncio

    from datasette.app import Datasette
    from datasette.plugins import pm

    import datasette_cattags

    if not pm.is_registered(datasette_cattags):
        pm.register(datasette_cattags, name="datasette-cattags")
    ds = Datasette(immutables=[str(library)]) if immutable else Datasette([str(library)])

    async def get():
        await ds.invoke_startup()
        return await ds.client.get(path, follow_redirects=True)

    return asyncio.run(get())


def test_the_gallery_shows_each_look_group_as_a_strip_and_offers_orders(library):
    page = gallery(library)
    assert page.status_code == 200
    groups = rows(library, "select look, pictures from look_groups order by look")
    for look, pictures in groups:
        assert f"?look={look}&amp;_sort=look_order" in page.text
        assert f'<span class="cattags-count">{pictures}</span>' in page.text
    strips = page.text.split('<ul class="cattags-looks">')[1].split("</ul>")[0]
    assert strips.count("<li>") == len(groups) and strips.count("<img ") >= len(groups)
    order = page.text.split('<nav class="cattags-order"')[1].split("</nav>")[0]
    assert [label in order for label in ("look", "date taken", "folder", "id")] == [True] * 4
    assert '_sort=look_order"' in order and 'aria-current="true">id<' in order
    by_look = gallery(library, "/cats/images.json?_sort=look_order&_shape=array&_col=look_order")
    places = [row["look_order"] for row in by_look.json()]
    assert places == sorted(places)


def test_a_database_from_before_looks_still_shows_its_gallery(library):
    """Datasette serves a file as it is: a library made before looks has no
    look columns until the next ingest; its facets leave them out."""
    db = sqlite3.connect(library)
    triggers = db.execute("select name from sqlite_master where type = 'trigger'").fetchall()
    for (trigger,) in triggers:  # the counts came after the looks
        db.execute(f"drop trigger {trigger}")
    db.execute("drop table counts")
    for index in ("images_look", "images_look_order", "images_taken", "images_event"):
        db.execute(f"drop index {index}")
    for column in ("look", "look_order", "taken", "event"):
        db.execute(f"alter table images drop column {column}")
    db.execute("drop table look_groups")
    db.execute("drop table looks")
    db.commit()
    db.close()
    page = gallery(library, immutable=True)
    assert page.status_code == 200 and "cattags-grid" in page.text
    assert "cattags-looks" not in page.text
    facets = gallery(library, "/cats/images.json?_extra=facet_results", immutable=True).json()
    names = set(facets["facet_results"].get("results", facets["facet_results"]))
    assert "look" not in names and "tags" in names


def test_a_pictures_page_shows_its_look_alikes_and_its_group(library):
    image_id, look = rows(library, "select id, look from images where look is not null limit 1")[0]
    page = gallery(library, f"/cats/images/{image_id}")
    assert page.status_code == 200
    section = page.text.split('class="cattags-strip cattags-alike"')[1].split("</section>")[0]
    asked = open_database(library).execute("select looks_like(?, 12)", [image_id])
    expected = json.loads(asked.fetchone()[0])
    assert section.count('class="cattags-cell"') == len(expected) == 12
    assert f"?look={look}&amp;_sort=look_order" in section


def test_looks_of_another_size_are_made_again(library):
    db = open_database(library)
    made = dict(db.execute("select image_id, look from looks").fetchall())
    db.execute("update looks set look = substr(look, 1, 60)")  # an older kind of look
    db.execute("update look_groups set centre = substr(centre, 1, 240)")
    db.conn.commit()
    summary = save_looks(db)
    assert summary.made == len(made) and summary.regrouped
    assert dict(db.execute("select image_id, look from looks").fetchall()) == made
    assert db.execute("select count(*) from images where look_order is null").fetchone() == (0,)
