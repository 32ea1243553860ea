"""Neighbours, near-duplicates and clusters as ingest stores them."""

import json
import random
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from ingest.cli import cli
from ingest.errors import CattagsError
from ingest.library import open_database
from ingest.matching import parse_rule
from ingest.pipeline import ingest

from .conftest import rows
from .conftest import snapshot as snapshot_of

NEARBY_TABLES = {
    "neighbours": "select image_id, rank, neighbour_id, distance from neighbours order by 1, 2",
    "pairs": "select * from pairs order by image_a, image_b, algorithm",
    "images": "select id, nearest_id, nearest_distance, cluster from images order by id",
}
NEAREST_SQL = """
select other.id, hamming(other.whash_int, this.whash_int) as distance
from images this, images other
where this.id = :id and other.id != this.id
order by distance, other.id
limit 10
"""
GROUPS_SQL = """
select cluster, count(*) as pictures, group_concat(id, ' ') as ids
from images where cluster is not null
group by cluster order by pictures desc, cluster
"""


def nearby_snapshot(db: Path) -> dict[str, list]:
    return snapshot_of(db, NEARBY_TABLES)


@pytest.mark.parametrize("rule", ["phash+dhash<=18", "whash<=10"])
def test_adding_pictures_later_gives_the_same_result_as_all_at_once(cats, tmp_path, rule):
    everything = tmp_path / "everything"
    shutil.copytree(cats, everything)
    ingest(everything, workers=2, neighbours=3, rule=rule)
    # The same pictures arriving in three batches.
    later = sorted(p for p in cats.rglob("*") if p.is_file())
    parked = tmp_path / "parked"
    for path in later[len(later) // 3 :]:
        target = parked / path.relative_to(cats)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    first = ingest(cats, workers=2, neighbours=3, rule=rule)
    assert first.nearby.full
    batches = [later[len(later) // 3 : 2 * len(later) // 3], later[2 * len(later) // 3 :]]
    for batch in batches:
        for path in batch:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(parked / path.relative_to(cats), path)
        summary = ingest(cats, workers=2, neighbours=3, rule=rule)
        assert not summary.nearby.full and 0 < summary.nearby.new < len(later)
    assert nearby_snapshot(cats / "cats.db") == nearby_snapshot(everything / "everything.db")


def test_every_picture_has_its_nearest_and_rows_are_ranked(cats):
    ingest(cats, workers=1)
    db = cats / "cats.db"
    assert rows(db, "select count(*) from images where nearest_id is null") == [(0,)]
    for image_id, ranked in rows(
        db,
        "select image_id, json_group_array(distance) from"
        " (select * from neighbours order by image_id, rank) group by image_id",
    ):
        distances = [int(x) for x in ranked.strip("[]").split(",")]
        assert distances == sorted(distances) and len(distances) == 5, image_id


def test_the_readme_nearest_query_agrees_with_the_stored_neighbours(cats):
    ingest(cats, workers=1)
    conn = sqlite3.connect(cats / "cats.db")
    from ingest.library import register_functions

    register_functions(conn)
    image_id = conn.execute("select id from images order by id limit 1").fetchone()[0]
    nearest = conn.execute(NEAREST_SQL, {"id": image_id}).fetchall()
    assert nearest == conn.execute(INDEXED_SQL, {"id": image_id, "k": 10}).fetchall()
    stored = conn.execute(
        "select neighbour_id, distance from neighbours where image_id = ? order by rank", [image_id]
    ).fetchall()
    assert nearest[: len(stored)] == stored
    groups = conn.execute(GROUPS_SQL).fetchall()
    assert groups and all(pictures >= 2 for _, pictures, _ in groups)


def test_the_rule_finds_every_planted_copy_and_no_unrelated_pair(cats):
    ingest(cats, workers=1)
    db = cats / "cats.db"
    number = {}
    for path, image_id in rows(db, "select path, image_id from files"):
        number.setdefault(image_id, set()).add(re.search(r"cat-(\d+)", path).group(1))
    edges = rows(db, "select image_a, image_b from pairs where near_duplicate = 1")
    assert edges
    assert all(number[a] & number[b] for a, b in edges), "an unrelated pair was joined"
    files = rows(db, "select path, image_id from files")
    originals = {
        re.search(r"cat-(\d+)", path).group(1): image_id
        for path, image_id in files
        if Path(path).stem.count("-") == 1
    }
    linked = {frozenset(e) for e in edges}
    copies = [(path, image_id) for path, image_id in files if Path(path).stem.count("-") == 2]
    assert copies
    for path, image_id in copies:
        original = originals[re.search(r"cat-(\d+)", path).group(1)]
        assert original == image_id or frozenset((image_id, original)) in linked, path


@pytest.mark.parametrize(
    "text, hashes, limit",
    [
        ("phash+dhash<=18", ("phash", "dhash"), 18),
        (" whash <= 5 ", ("whash",), 5),
        ("dhash+phash+whash<=30", ("dhash", "phash", "whash"), 30),
    ],
)
def test_rules_parse(text, hashes, limit):
    rule = parse_rule(text)
    assert (rule.hashes, rule.limit) == (hashes, limit)


@pytest.mark.parametrize("text", ["phash<18", "ahash<=3", "phash+phash<=4", "phash<=x", ""])
def test_bad_rules_are_clear_errors(text):
    with pytest.raises(CattagsError, match="rule"):
        parse_rule(text)


def test_pairs_command_recomputes_with_a_new_rule_and_records_it(cats):
    ingest(cats, workers=1)
    db = cats / "cats.db"
    result = CliRunner().invoke(cli, ["pairs", "--db", str(db), "--rule", "whash<=12"])
    assert result.exit_code == 0, result.output
    assert "near-duplicate pairs" in result.output
    assert rows(db, "select value from settings where key = 'rule'") == [("whash<=12",)]
    found = {r for (r,) in rows(db, "select distinct rule from pairs where near_duplicate = 1")}
    assert "whash<=12" in found
    assert all(r == "whash<=12" or r.startswith("whash<=12, ") for r in found)  # as is, or how
    bad = CliRunner().invoke(cli, ["pairs", "--db", str(db), "--rule", "nonsense"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output  # a usage error


INDEXED_SQL = """
select images.id, json_extract(hit.value, '$[1]') as distance
from json_each(nearest_images(:id, :k)) as hit
join images on images.rowid = json_extract(hit.value, '$[0]')
order by distance, images.id limit :k
"""
SCAN_SQL = """
select other.id, hamming(other.whash_int, :code) as distance from images other
where other.id != :id order by distance, other.id limit :k
"""


def fill_images(conn, codes: list[int], start: int = 0) -> None:
    """Minimal images rows with these whash codes (signed 64-bit)."""
    conn.executemany(
        "insert into images (id, width, height, size, whash, whash_int) values (?, ?, 1, ?, ?, ?)",
        [
            (f"{n}x1_{code & (2**64 - 1):016x}", n, f"{n}x1", f"{code & (2**64 - 1):016x}", code)
            for n, code in enumerate(codes, start + 1)
        ],
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_nearest_images_equals_a_full_scan_ties_included(tmp_path, seed):
    rng = random.Random(seed)
    centres = [rng.getrandbits(64) for _ in range(5)]
    unsigned = [c ^ (1 << rng.randrange(64)) for c in centres for _ in range(40)]  # many ties
    codes = [u - (1 << 64) if u >= 1 << 63 else u for u in unsigned]
    db = open_database(tmp_path / "n.db")
    fill_images(db.conn, codes)
    db.conn.commit()
    ids = [row[0] for row in db.execute("select id from images order by random() limit 15")]
    for q in ids:
        code = db.execute("select whash_int from images where id = ?", [q]).fetchone()[0]
        for k in (1, 5, 10, 37):
            params = {"id": q, "k": k, "code": code}
            assert (
                db.execute(INDEXED_SQL, params).fetchall()
                == db.execute(SCAN_SQL, params).fetchall()
            )
    # Rowids with gaps, and a whash that is not 16 hex digits: the slower reads.
    db.execute("delete from images where rowid in (3, 50)")
    db.execute("update images set whash = 'abc' where rowid = 7")
    db.conn.commit()
    for q in ids[:3]:
        code = db.execute("select whash_int from images where id = ?", [q]).fetchone()
        if code:
            params = {"id": q, "k": 10, "code": code[0]}
            assert (
                db.execute(INDEXED_SQL, params).fetchall()
                == db.execute(SCAN_SQL, params).fetchall()
            )
    # A hash as the query: itself not excluded (it is no picture).
    by_hash = db.execute(INDEXED_SQL, {"id": f"{codes[0] & (2**64 - 1):016x}", "k": 3}).fetchall()
    assert by_hash[0][1] == 0


def test_nearest_images_sees_pictures_added_by_another_connection(tmp_path):
    path = tmp_path / "n.db"
    reader = open_database(path)
    fill_images(reader.conn, [0, 255, 2**40])
    reader.conn.commit()
    first = reader.execute(INDEXED_SQL, {"id": "0000000000000001", "k": 1}).fetchall()
    assert first[0][1] == 1  # 0 is one bit away
    writer = sqlite3.connect(path)
    fill_images(writer, [1], start=100)  # an ingest elsewhere adds the exact hash
    writer.commit()
    writer.close()
    again = reader.execute(INDEXED_SQL, {"id": "0000000000000001", "k": 1}).fetchall()
    assert again[0][1] == 0


def pair_of_two(db: Path) -> tuple[str, str]:
    """The two pictures of a near-duplicate group of exactly two."""
    cluster = rows(
        db,
        "select cluster from images where cluster is not null group by cluster having count(*) = 2",
    )[0][0]
    a, b = [
        i for (i,) in rows(db, "select id from images where cluster = ? order by id", [cluster])
    ]
    return a, b


def cluster_of(db: Path, image_id: str):
    return rows(db, "select cluster from images where id = ?", [image_id])[0][0]


def test_a_different_decision_splits_a_group_and_outlives_pairs_rules_and_ingests(cats):
    ingest(cats, workers=1)
    db = cats / "cats.db"
    a, b = pair_of_two(db)
    result = CliRunner().invoke(cli, ["duplicates", "--db", str(db), "--different", b, a])
    assert result.exit_code == 0, result.output
    assert cluster_of(db, a) is None and cluster_of(db, b) is None
    assert rows(db, "select decision, actor from decisions") == [
        ("different", "cattags duplicates")
    ]
    source = rows(db, "select path from files where image_id = ?", [a])[0][0]
    for args in (
        ["pairs", "--db", str(db)],
        ["pairs", "--db", str(db), "--rule", "whash+phash+dhash<=40"],  # a looser rule
        ["ingest", str(cats), "-s"],  # with a new copy of a: the incremental path
    ):
        if args[0] == "ingest":
            with Image.open(cats / source) as img:
                img.resize((img.width - 3, img.height - 2)).save(cats / "a-new-copy.png")
        assert CliRunner().invoke(cli, args).exit_code == 0
        assert cluster_of(db, a) is None or cluster_of(db, a) != cluster_of(db, b), args
        joined = rows(
            db,
            "select count(*) from pairs where near_duplicate = 1 and image_a = ? and image_b = ?",
            [min(a, b), max(a, b)],
        )
        assert joined == [(0,)], args
    assert rows(db, "select count(*) from decisions") == [(1,)]


def test_a_same_decision_joins_two_pictures_the_rule_keeps_apart(cats):
    ingest(cats, workers=1)
    db = cats / "cats.db"
    a, b = [
        i for (i,) in rows(db, "select id from images where cluster is null order by id limit 2")
    ]
    assert CliRunner().invoke(cli, ["duplicates", "--db", str(db), "--same", a, b]).exit_code == 0
    assert cluster_of(db, a) is not None and cluster_of(db, a) == cluster_of(db, b)
    assert CliRunner().invoke(cli, ["pairs", "--db", str(db), "--rule", "phash<=2"]).exit_code == 0
    assert cluster_of(db, a) is not None and cluster_of(db, a) == cluster_of(db, b)
    listed = CliRunner().invoke(cli, ["duplicates", "--db", str(db), "--json"])
    sets = json.loads(listed.output)
    together = [s for s in sets if {a, b} <= {p["id"] for p in s["pictures"]}]
    assert len(together) == 1 and together[0]["pairs"][0]["rule"].startswith("same picture")
    table = CliRunner().invoke(cli, ["duplicates", "--db", str(db), "--csv"])
    header, *lines = table.output.splitlines()
    assert header.startswith("set,cluster,image_id,path,")
    assert len(lines) == sum(s["files"] for s in sets)
    text = CliRunner().invoke(cli, ["duplicates", "--db", str(db)])
    assert text.output.startswith("set 1: ") and f"\n{len(sets)} sets: " in text.output


def test_a_decision_about_unknown_pictures_is_a_clean_error(cats):
    ingest(cats, workers=1)
    db = cats / "cats.db"
    a = rows(db, "select id from images limit 1")[0][0]
    result = CliRunner().invoke(
        cli, ["duplicates", "--db", str(db), "--same", a, "10x10_0123456789abcdef"]
    )
    assert result.exit_code == 1 and "no such picture: 10x10_0123456789abcdef" in result.output
    assert rows(db, "select count(*) from decisions") == [(0,)]


def test_a_run_with_nothing_new_rewrites_no_pair_or_group(cats):
    first = ingest(cats, workers=1)
    db = cats / "cats.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "CREATE TABLE written (what TEXT);"
            "CREATE TRIGGER cluster_written AFTER UPDATE OF cluster ON images"
            " BEGIN INSERT INTO written VALUES ('cluster'); END;"
            "CREATE TRIGGER pair_written AFTER INSERT ON pairs"
            " BEGIN INSERT INTO written VALUES ('pair'); END;"
        )
    again = ingest(cats, workers=1)
    assert rows(db, "select what from written") == []
    assert again.nearby.line() == first.nearby.line().replace("all", "0 new")
    # ...and a new picture still reaches the groups.
    source = next(p for p in sorted(cats.rglob("*.png")) if "thumbs" not in p.parts)
    Image.open(source).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(cats / "mirrored.png")
    ingest(cats, workers=1)
    assert rows(db, "select count(*) from written where what = 'pair'")[0][0] > 0
