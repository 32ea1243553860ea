"""The plugin in a real Datasette (in-process client): thumbnails, gallery,
facets, nearest cats, the similar-images query, moves and their refusals."""

import asyncio
import html
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from datasette.app import Datasette
from datasette.plugins import pm
from PIL import Image
from sqlite_utils import Database

import datasette_cattags
from ingest.duplicates import list_sets
from ingest.pipeline import ingest

from .conftest import rows

IS_V1 = hasattr(Datasette, "allowed")  # Datasette 1.0's permission API


def make(files=(), immutables=(), plugin_config=None) -> Datasette:
    """A Datasette where root is root (1.0 needs --root for that), with plugin configuration."""
    plugins = {"plugins": {"datasette-cattags": plugin_config}} if plugin_config else None
    keyword = "config" if IS_V1 else "metadata"
    ds = Datasette(
        [str(f) for f in files], immutables=[str(i) for i in immutables], **{keyword: plugins}
    )
    if IS_V1:
        ds.root_enabled = True
    return ds


if not pm.is_registered(datasette_cattags):  # installed in develop mode: already there
    pm.register(datasette_cattags, name="datasette-cattags")

ROOT = {"id": "root"}
IMG = re.compile(
    r'<img class="cattags-thumb" loading="lazy" src="([^"]+)" width="\d+" height="\d+" alt="[^"]+">'
)
METADATA = Path(__file__).parent.parent / "metadata.json"


@pytest.fixture
def cats_db(cats):
    ingest(cats, workers=1)
    return cats / "cats.db"


def facet_results(data: dict) -> dict:
    """name -> facet, from 0.65 ({name: facet}) or 1.0 ({"results": {name: facet}})."""
    results = data["facet_results"]
    return results.get("results", results) if "results" in results else results


def cookies_for(ds, actor):
    return {"ds_actor": ds.sign({"a": actor}, "actor")}


async def csrf(ds, cookies):
    """A CSRF token and the cookies that go with it (0.65: asgi-csrf)."""
    page = await ds.client.get("/cats/images", cookies=cookies)
    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
    jar = {**cookies, **dict(page.cookies)}
    return (token.group(1) if token else ""), jar


async def move(ds, actor, image_ids, folder, json_answer=True, token=True):
    cookies = cookies_for(ds, actor) if actor else {}
    data = [("image_id", i) for i in image_ids] + [("folder", folder)]
    if token:
        value, cookies = await csrf(ds, cookies)
        data.append(("csrftoken", value))
    headers = {"accept": "application/json"} if json_answer else {}
    return await ds.client.post(
        "/cats/-/cattags/move",
        content=httpx.QueryParams(data).__str__(),
        cookies=cookies,
        headers={**headers, "content-type": "application/x-www-form-urlencoded"},
    )


@pytest.mark.asyncio
async def test_plugin_is_installed():
    response = await Datasette(memory=True).client.get("/-/plugins.json")
    assert any(p["name"] in ("datasette-cattags", "datasette_cattags") for p in response.json())


@pytest.mark.asyncio
async def test_hamming_orders_the_nearest_cats_in_sql(cats_db):
    ds = make([cats_db])
    sql = (
        "select b.id, hamming(a.whash, b.whash) as d, hamming(a.whash_int, b.whash_int) as d2"
        " from images a, images b where a.id = (select min(id) from images) order by d limit 3"
    )
    response = await ds.client.get(
        "/cats.json", params={"sql": sql, "_shape": "array"}, follow_redirects=True
    )
    got = response.json()
    assert got[0]["d"] == 0 and all(row["d"] == row["d2"] for row in got)


@pytest.mark.asyncio
async def test_thumbnail_route_png_etag_304_and_year_long_cache(cats_db):
    ds = make([cats_db])
    image_id, sha = rows(cats_db, "select image_id, sha256 from thumbnails limit 1")[0]
    url = f"/cats/-/cattags/thumb/{image_id}.png?v={sha[:12]}"
    response = await ds.client.get(url)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert (
        response.content
        == rows(cats_db, "select png from thumbnails where image_id = ?", [image_id])[0][0]
    )
    assert response.headers["etag"] == f'"{sha}"'
    assert (
        "max-age=31536000" in response.headers["cache-control"]
        and "immutable" in response.headers["cache-control"]
    )
    again = await ds.client.get(url, headers={"if-none-match": f'"{sha}"'})
    assert again.status_code == 304 and again.content == b""
    signed_in = await ds.client.get(url, cookies=cookies_for(ds, {"id": "someone"}))
    assert signed_in.headers["cache-control"] == "private, max-age=31536000, immutable"
    unversioned = await ds.client.get(f"/cats/-/cattags/thumb/{image_id}.png")
    assert unversioned.headers["cache-control"] == "no-cache"
    assert (
        await ds.client.get("/cats/-/cattags/thumb/1x1_0000000000000000.png")
    ).status_code == 404


@pytest.mark.asyncio
async def test_gallery_shows_thumbnails_with_default_facets(cats_db):
    ds = make([cats_db])
    page = await ds.client.get("/cats/images")
    assert page.status_code == 200
    assert 'class="cattags-grid"' in page.text
    images = rows(cats_db, "select count(*) from images")[0][0]
    assert len(IMG.findall(page.text)) == images
    data = (await ds.client.get("/cats/images.json?_extra=facet_results")).json()
    names = {f["name"] for f in facet_results(data).values()}
    assert names == {"tags", "folder", "look", "nearest_distance", "cluster"} | dated(cats_db)
    table = await ds.client.get("/cats/images?_cattags=table")
    assert 'class="cattags-grid"' not in table.text and "<table" in table.text


@pytest.mark.asyncio
async def test_tag_facet_selection_narrows_the_gallery(cats_db):
    ds = make([cats_db])
    data = (await ds.client.get("/cats/images.json?_extra=facet_results")).json()
    tags = next(f for f in facet_results(data).values() if f["name"] == "tags")
    ginger = next(v for v in tags["results"] if v["value"] == "ginger")
    url = httpx.URL(ginger["toggle_url"])
    narrowed = await ds.client.get(url.raw_path.decode() + "&_shape=objects&_extra=count")
    body = narrowed.json()
    expected = rows(cats_db, "select count(*) from image_tags where tag = 'ginger'")[0][0]
    count = body.get("filtered_table_rows_count", body.get("count"))
    assert count == expected == ginger["count"] == len(body["rows"])
    assert all("ginger" in json.loads(r["tags"]) for r in body["rows"])


@pytest.mark.asyncio
async def test_pictures_moved_out_of_a_folder_leave_its_tag_facet_and_filter(cats_db):
    ds = make([cats_db])
    five = [i for (i,) in rows(cats_db, "select id from images order by id limit 5")]
    assert (await move(ds, ROOT, five, "sleepy")).status_code == 200
    assert (await move(ds, ROOT, five[:3], "black")).status_code == 200
    data = (await ds.client.get("/cats/images.json?_extra=facet_results")).json()
    tags = next(f for f in facet_results(data).values() if f["name"] == "tags")
    sleepy = next(v for v in tags["results"] if v["value"] == "sleepy")
    assert sleepy["count"] == 2 and "_tag=sleepy" in sleepy["toggle_url"]
    narrowed = await ds.client.get(
        httpx.URL(sleepy["toggle_url"]).raw_path.decode() + "&_shape=objects&_size=max"
    )
    assert {row["id"] for row in narrowed.json()["rows"]} == set(five[3:])
    # Core's _through matches a tag of any origin: the earlier folder too.
    through = json.dumps({"table": "image_tags", "column": "tag", "value": "sleepy"})
    anyhow = await ds.client.get("/cats/images.json", params={"_through": through, "_size": "max"})
    assert len(anyhow.json()["rows"]) == 5
    page = await ds.client.get(f"/cats/images/{five[0]}")
    earlier = re.search(r'<dd class="cattags-earlier"[^>]*>(.*?)</dd>', page.text).group(1)
    assert ">sleepy<" in earlier and ">black<" not in earlier


@pytest.mark.asyncio
async def test_the_alike_filter_lists_a_picture_and_its_look_alikes_within_the_filters(cats_db):
    ds = make([cats_db])
    seed = rows(cats_db, "select id from images order by id limit 1")[0][0]
    sql = (
        "select i.id, i.folder from json_each(looks_like(:id, 4)) h"
        " join images i on i.rowid = json_extract(h.value, '$[0]')"
    )
    alike = (await ds.get_database("cats").execute(sql, {"id": seed})).rows
    got = await ds.client.get(
        "/cats/images.json", params={"_alike": seed, "_alike_k": "5", "_shape": "objects"}
    )
    assert {row["id"] for row in got.json()["rows"]} == {seed, *(row[0] for row in alike)}
    # With another filter: those of them it lets through.
    size = rows(cats_db, "select size from images where id = ?", [seed])[0][0]
    narrowed = await ds.client.get(
        "/cats/images.json",
        params={"_alike": seed, "_alike_k": "5", "size": size, "_shape": "objects"},
    )
    expected = rows(cats_db, "select id from images where size = ?", [size])
    kept = {seed, *(row[0] for row in alike)} & {i for (i,) in expected}
    assert {row["id"] for row in narrowed.json()["rows"]} == kept
    page = await ds.client.get("/cats/images", params={"_alike": seed})
    assert "among the 20 that look most like" in page.text


@pytest.mark.asyncio
async def test_a_move_of_more_than_ten_thousand_pictures_is_refused_whole(cats_db):
    ds = make([cats_db])
    real = [i for (i,) in rows(cats_db, "select id from images")]
    many = real + [f"1x1_{n:016x}" for n in range(10_001 - len(real))]
    refused = await move(ds, ROOT, many, "everything")
    assert refused.status_code == 400
    assert "at most 10,000" in refused.json()["message"]
    assert rows(cats_db, "select count(*) from moves") == [(0,)]


@pytest.mark.asyncio
async def test_the_unfiltered_facets_read_the_counts_and_a_move_keeps_them_true(cats_db):
    ds = make([cats_db])

    async def counts(query=""):
        data = (await ds.client.get(f"/cats/images.json?_extra=facet_results{query}")).json()
        facets = {f["name"]: f for f in facet_results(data).values()}
        return {
            name: {str(v["value"]): v["count"] for v in facets[name]["results"]}
            for name in ("folder", "tags", "look")
            if name in facets
        }

    before = await counts()
    # The unfiltered page reads the counts table (a changed count shows)...
    with sqlite3.connect(cats_db) as conn:
        conn.execute("update counts set count = count + 1000 where facet = 'look'")
    shown = await counts()
    assert shown["look"] == {value: count + 1000 for value, count in before["look"].items()}
    with sqlite3.connect(cats_db) as conn:
        conn.execute("update counts set count = count - 1000 where facet = 'look'")
    # ...a filtered one counts its matches.
    size = rows(cats_db, "select size from images limit 1")[0][0]
    narrowed = await counts(f"&size={size}")
    expected = rows(cats_db, "select count(*) from images where size = ?", [size])[0][0]
    assert sum(narrowed["look"].values()) == expected
    # A move changes the counts in the same transaction.
    three = [i for (i,) in rows(cats_db, "select id from images order by id limit 3")]
    assert (await move(ds, ROOT, three, "sleepy")).status_code == 200
    after = await counts()
    assert after["look"] == before["look"]
    assert after["folder"]["sleepy"] == 3 and after["tags"]["sleepy"] == 3
    assert after["folder"][""] == before["folder"][""] - 3
    page = await ds.client.get("/cats/images")
    assert re.search(
        r'data-folder="sleepy"[^>]*>sleepy</a> <span class="cattags-count">3</span>', page.text
    )


@pytest.mark.asyncio
async def test_id_columns_of_other_tables_and_sql_results_render_thumbnails(cats_db):
    ds = make([cats_db])
    for path in ("/cats/pairs", "/cats/files", "/cats/neighbours"):
        page = await ds.client.get(path)
        assert IMG.search(page.text), path
    sql = await ds.client.get(
        "/cats", params={"sql": "select id from images limit 3"}, follow_redirects=True
    )
    assert len(IMG.findall(sql.text)) == 3


@pytest.mark.asyncio
async def test_row_page_lists_nearest_cats_and_similar_query_works(cats_db):
    ds = make([cats_db])
    image_id = rows(cats_db, "select id from images order by id limit 1")[0][0]
    page = await ds.client.get(f"/cats/images/{image_id}")
    assert page.status_code == 200 and "Nearest cats" in page.text
    nearest = rows(
        cats_db, "select neighbour_id from neighbours where image_id = ? order by rank", [image_id]
    )
    section = page.text.split("Nearest cats", 1)[1]
    assert [n for (n,) in nearest] == re.findall(r'alt="([^"]+)"', section)[: len(nearest)]
    similar = await ds.client.get("/cats/similar.json", params={"id": image_id, "_shape": "array"})
    got = similar.json()
    assert [r["whash_distance"] for r in got] == sorted(r["whash_distance"] for r in got)


@pytest.mark.asyncio
async def test_the_picture_page_says_when_hashes_come_from_the_fast_mode(cats, tmp_path):
    exact = tmp_path / "exact.db"
    ingest(cats, exact, tmp_path / "exact-thumbs", workers=1)
    fast = tmp_path / "fast.db"
    ingest(cats, fast, tmp_path / "fast-thumbs", workers=1, mode="fast")
    ds = make([exact, fast])
    for db, expected in ((exact, False), (fast, True)):
        image_id = rows(db, "select id from images order by width * height limit 1")[0][0]
        page = await ds.client.get(f"/{db.stem}/images/{image_id}")
        assert page.status_code == 200
        assert ("fast mode" in page.text) is expected
        assert "read at 1/" not in page.text  # small enough to be read at full size
    # A picture big enough to be read at a reduced scale says by how much.
    big = tmp_path / "big"
    big.mkdir()
    Image.new("RGB", (1100, 800), (40, 90, 200)).save(big / "wide.jpg")
    ingest(big, fast, tmp_path / "fast-thumbs", workers=1)
    page = await ds.client.get(
        "/fast/images/1100x800_"
        + rows(fast, "select whash from images where size = '1100x800'")[0][0]
    )
    assert "fast mode, from the picture read at 1/2 scale" in page.text
    assert "(of the picture read at 1/2 scale)" in page.text


@pytest.mark.asyncio
async def test_anonymous_and_unlisted_users_cannot_move_and_see_no_controls(cats_db):
    ds = make([cats_db])
    image_id = rows(cats_db, "select id from images limit 1")[0][0]
    assert (await move(ds, None, [image_id], "x", token=False)).status_code == 403
    assert (await move(ds, {"id": "bob"}, [image_id], "x")).status_code == 403
    page = await ds.client.get("/cats/images", cookies=cookies_for(ds, {"id": "bob"}))
    assert 'name="folder"' not in page.text
    assert rows(cats_db, "select count(*) from moves") == [(0,)]


@pytest.mark.asyncio
async def test_root_moves_a_picture_file_rows_tags_and_log_then_undoes(cats_db):
    ds = make([cats_db])
    image_id, folder = rows(cats_db, "select id, folder from images order by id limit 1")[0]
    thumbs = cats_db.parent / "thumbs"
    response = await move(ds, ROOT, [image_id], "sleeping/2023/sofa")
    assert response.status_code == 200, response.text
    assert response.json()["moved"] == [image_id]
    assert (thumbs / "sleeping/2023/sofa" / f"{image_id}_.png").exists()
    assert not (thumbs / folder / f"{image_id}_.png").exists()
    assert rows(cats_db, "select folder from images where id = ?", [image_id]) == [
        ("sleeping/2023/sofa",)
    ]
    tags = json.loads(rows(cats_db, "select tags from images where id = ?", [image_id])[0][0])
    assert {"sleeping", "sofa"} <= set(tags) and "2023" not in tags
    assert rows(cats_db, "select actor, from_folder, to_folder from moves") == [
        ("root", folder, "sleeping/2023/sofa")
    ]
    cookies = cookies_for(ds, ROOT)
    token, jar = await csrf(ds, cookies)
    undo = await ds.client.post("/cats/-/cattags/undo", data={"csrftoken": token}, cookies=jar)
    assert undo.status_code == 302
    assert (thumbs / folder / f"{image_id}_.png").exists()
    assert rows(cats_db, "select folder from images where id = ?", [image_id]) == [(folder,)]


@pytest.mark.asyncio
async def test_form_post_redirects_with_a_message_and_needs_the_csrf_token(cats_db):
    ds = make([cats_db])
    image_id = rows(cats_db, "select id from images limit 1")[0][0]
    if IS_V1:  # 1.0: no tokens; cross-site requests are refused
        cookies = cookies_for(ds, ROOT)
        body = {"image_id": image_id, "folder": "keep"}
        without = await ds.client.post(
            "/cats/-/cattags/move",
            data=body,
            cookies=cookies,
            headers={"sec-fetch-site": "cross-site"},
        )
    else:  # 0.65: asgi-csrf refuses a cookie without its token
        without = await move(ds, ROOT, [image_id], "keep", json_answer=False, token=False)
    assert without.status_code == 403
    done = await move(ds, ROOT, [image_id], "keep", json_answer=False)
    assert done.status_code == 302


REFUSED_FOLDERS = [
    ("../escape", "'..'"),
    ("a/../../b", "'..'"),
    ("/etc", "relative"),
    ("bad\x00name", "control"),
    ("line\nbreak", "control"),
    ("x" * 256, "255 bytes"),
    ("outside", "outside the thumbnails root"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("folder, why", REFUSED_FOLDERS)
async def test_unsafe_folders_are_refused_and_nothing_moves(cats_db, tmp_path, folder, why):
    (cats_db.parent / "thumbs" / "outside").symlink_to(tmp_path, target_is_directory=True)
    ds = make([cats_db])
    image_id = rows(cats_db, "select id from images limit 1")[0][0]
    response = await move(ds, ROOT, [image_id], folder)
    assert response.status_code == 400 and why in response.json()["message"]
    assert rows(cats_db, "select count(*) from moves") == [(0,)]


@pytest.mark.asyncio
async def test_unknown_pictures_are_404_and_nothing_moves(cats_db):
    ds = make([cats_db])
    image_id = rows(cats_db, "select id from images limit 1")[0][0]
    response = await move(ds, ROOT, [image_id, "10x10_0123456789abcdef"], "keep")
    assert response.status_code == 404
    assert rows(cats_db, "select count(*) from moves") == [(0,)]


@pytest.mark.asyncio
async def test_allow_move_block_grants_a_role(cats_db):
    metadata = {"plugins": {"datasette-cattags": {"allow_move": {"roles": ["curator"]}}}}
    ds = make([cats_db], plugin_config=metadata["plugins"]["datasette-cattags"])
    image_id = rows(cats_db, "select id from images limit 1")[0][0]
    assert (
        await move(ds, {"id": "cara", "roles": ["curator"]}, [image_id], "keep")
    ).status_code == 200
    assert (await move(ds, {"id": "bob"}, [image_id], "elsewhere")).status_code == 403


@pytest.mark.asyncio
async def test_immutable_database_shows_everything_but_moves(cats_db):
    ds = make(immutables=[cats_db])
    assert ds.get_database("cats").is_mutable is False
    image_id = rows(cats_db, "select id from images limit 1")[0][0]
    page = await ds.client.get("/cats/images", cookies=cookies_for(ds, ROOT))
    assert IMG.search(page.text) and 'name="folder"' not in page.text
    assert "read-only" in page.text
    thumb = IMG.search(page.text).group(1).replace("&amp;", "&")
    assert (await ds.client.get(thumb)).status_code == 200
    refused = await move(ds, ROOT, [image_id], "keep")
    assert refused.status_code == 403 and "read-only" in refused.json()["message"]


@pytest.mark.asyncio
async def test_fifty_concurrent_moves_lose_no_file(cats_db):
    ds = make([cats_db])
    ids = [i for (i,) in rows(cats_db, "select id from images order by id")]
    token, jar = await csrf(ds, cookies_for(ds, ROOT))

    async def one(n):
        image_id = ids[n % len(ids)]
        body = httpx.QueryParams(
            [("image_id", image_id), ("folder", f"box{n % 7}"), ("csrftoken", token)]
        )
        return await ds.client.post(
            "/cats/-/cattags/move",
            content=str(body),
            cookies=jar,
            headers={
                "accept": "application/json",
                "content-type": "application/x-www-form-urlencoded",
            },
        )

    answers = await asyncio.gather(*(one(n) for n in range(50)))
    assert all(a.status_code == 200 for a in answers), [
        a.text for a in answers if a.status_code != 200
    ]
    thumbs = cats_db.parent / "thumbs"
    on_disk = {p.name[:-5]: p.parent.relative_to(thumbs).as_posix() for p in thumbs.rglob("*_.png")}
    on_disk = {k: ("" if v == "." else v) for k, v in on_disk.items()}
    assert on_disk == dict(rows(cats_db, "select id, folder from images"))


@pytest.mark.asyncio
async def test_serve_order_startup_then_app(cats_db):
    """`datasette serve` calls invoke_startup() before building the app."""
    ds = make([cats_db])
    await ds.invoke_startup()
    ds.app()  # lists every template: a loader that cannot would raise here
    env = ds.get_jinja_environment() if IS_V1 else ds.jinja_env
    listed = env.list_templates()
    assert "_table-cats-images.html" in listed and "row-cats-images.html" in listed
    page = await ds.client.get("/cats/images")
    assert page.status_code == 200 and 'class="cattags-grid"' in page.text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_datasette_serve_with_the_example_metadata(cats_db):
    """A real `datasette serve` process, with metadata.json, shows the gallery."""
    port = free_port()
    datasette = Path(sys.executable).with_name("datasette")
    process = subprocess.Popen(
        [
            str(datasette),
            "serve",
            str(cats_db),
            "-m",
            str(METADATA),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/cats/images", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert page.status_code == 200 and 'class="cattags-grid"' in page.text
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert "Cats that don" in home.text  # the metadata title
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.asyncio
async def test_without_the_thumbnails_folder_moves_are_refused_and_thumbnails_still_render(cats_db):
    shutil.move(cats_db.parent / "thumbs", cats_db.parent / "elsewhere")
    ds = make([cats_db])
    image_id = rows(cats_db, "select id from images limit 1")[0][0]
    page = await ds.client.get("/cats/images", cookies=cookies_for(ds, ROOT))
    assert IMG.search(page.text) and 'name="folder"' not in page.text
    assert "thumbnails folder is not on this server" in page.text
    refused = await move(ds, ROOT, [image_id], "keep")
    assert refused.status_code == 403 and "not available" in refused.json()["message"]


def test_the_plugin_does_not_load_the_compiled_kernels():
    """Datasette only needs hamming(): numba (half a second and tens of MB)
    stays out of its process."""
    code = "import sys, datasette_cattags; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.asyncio
async def test_undo_twice_reverses_the_two_latest_moves_and_their_tags(cats_db):
    ds = make([cats_db])
    first, second = [i for (i,) in rows(cats_db, "select id from images order by id limit 2")]
    before = dict(rows(cats_db, "select id, tags from images"))
    assert (await move(ds, ROOT, [first], "sleeping")).status_code == 200
    assert (await move(ds, ROOT, [second], "boxes/cardboard")).status_code == 200
    assert (await move(ds, ROOT, [first], "boxes")).status_code == 200
    token, jar = await csrf(ds, cookies_for(ds, ROOT))

    async def undo():
        response = await ds.client.post(
            "/cats/-/cattags/undo",
            data={"csrftoken": token},
            cookies=jar,
            headers={"accept": "application/json"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    assert (await undo())["to"] == {first: "sleeping"}
    assert (await undo())["to"] == {second: ""}
    assert rows(cats_db, "select tags from images where id = ?", [second]) == [(before[second],)]
    assert (await undo())["to"] == {first: ""}
    assert dict(rows(cats_db, "select id, tags from images")) == before
    assert dict(rows(cats_db, "select id, folder from images")) == {i: "" for i in before}
    nothing = await undo()
    assert nothing["moved"] == [] and nothing["message"] == "Nothing to undo"
    thumbs = cats_db.parent / "thumbs"
    assert (thumbs / f"{first}_.png").exists() and (thumbs / f"{second}_.png").exists()


@pytest.mark.asyncio
async def test_undo_is_per_user(cats_db):
    config = {"allow_move": {"id": ["alice", "bob"]}}
    ds = make([cats_db], plugin_config=config)
    first, second = [i for (i,) in rows(cats_db, "select id from images order by id limit 2")]
    assert (await move(ds, {"id": "alice"}, [first], "alice")).status_code == 200
    assert (await move(ds, {"id": "bob"}, [second], "bob")).status_code == 200
    token, jar = await csrf(ds, cookies_for(ds, {"id": "alice"}))
    response = await ds.client.post(
        "/cats/-/cattags/undo",
        data={"csrftoken": token},
        cookies=jar,
        headers={"accept": "application/json"},
    )
    assert response.json()["moved"] == [first]
    assert rows(cats_db, "select folder from images where id = ?", [second]) == [("bob",)]


def private_images(cats_db) -> Datasette:
    """The images table visible to root only."""
    tables = {"databases": {"cats": {"tables": {"images": {"allow": {"id": "root"}}}}}}
    ds = Datasette([str(cats_db)], **{"config" if IS_V1 else "metadata": tables})
    if IS_V1:
        ds.root_enabled = True
    return ds


@pytest.mark.asyncio
async def test_the_similar_query_is_as_private_as_the_images_table(cats_db):
    ds = private_images(cats_db)
    image_id = rows(cats_db, "select id from images limit 1")[0][0]
    assert (await ds.client.get("/cats/images.json")).status_code == 403
    for path in ("/cats/similar.json", "/cats/similar", "/cats/similar.csv"):
        anonymous = await ds.client.get(path, params={"id": image_id})
        assert anonymous.status_code == 403, path
        assert image_id not in anonymous.text
    allowed = await ds.client.get(
        "/cats/similar.json",
        params={"id": image_id, "_shape": "array"},
        cookies=cookies_for(ds, ROOT),
    )
    assert allowed.status_code == 200 and len(allowed.json()) > 0


@pytest.mark.asyncio
async def test_only_the_exact_current_version_is_cached_for_a_year(cats_db):
    ds = make([cats_db])
    image_id, sha = rows(cats_db, "select image_id, sha256 from thumbnails limit 1")[0]
    cookies = cookies_for(ds, {"id": "someone"})
    for version in ("0", sha[:1], "ffffffffffff", sha[:11], sha):
        url = f"/cats/-/cattags/thumb/{image_id}.png?v={version}"
        for jar in ({}, cookies):
            response = await ds.client.get(url, cookies=jar)
            assert "max-age=31536000" not in response.headers["cache-control"], (version, jar)
    exact = f"/cats/-/cattags/thumb/{image_id}.png?v={sha[:12]}"
    assert "max-age=31536000" in (await ds.client.get(exact)).headers["cache-control"]


@pytest.mark.asyncio
async def test_a_refusal_redirects_only_to_a_page_of_this_site(cats_db):
    ds = make([cats_db])
    image_id = rows(cats_db, "select id from images limit 1")[0][0]
    token, jar = await csrf(ds, cookies_for(ds, ROOT))
    for referer in (
        "http://localhost//evil.example/x",
        "http://localhost/\\evil.example/x",
        "https://evil.example/cats/images",
        "javascript:alert(1)",
    ):
        response = await ds.client.post(
            "/cats/-/cattags/move",
            data={"image_id": image_id, "folder": "../x", "csrftoken": token},
            cookies=jar,
            headers={"referer": referer},
        )
        assert response.status_code == 302
        location = response.headers["location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), referer
    same = await ds.client.post(
        "/cats/-/cattags/move",
        data={"image_id": image_id, "folder": "../x", "csrftoken": token},
        cookies=jar,
        headers={"referer": "http://localhost/cats/images?_size=10"},
    )
    assert same.headers["location"] == "/cats/images?_size=10"


@pytest.mark.asyncio
async def test_a_refused_browser_move_shows_the_reason_on_the_page_it_came_from(cats_db):
    ds = make([cats_db])
    image_id = rows(cats_db, "select id from images limit 1")[0][0]
    token, jar = await csrf(ds, cookies_for(ds, ROOT))
    response = await ds.client.post(
        "/cats/-/cattags/move",
        data={"image_id": image_id, "folder": "../x", "csrftoken": token},
        cookies=jar,
        headers={"referer": "http://localhost/cats/images"},
    )
    assert response.status_code == 302 and response.headers["location"] == "/cats/images"
    page = await ds.client.get("/cats/images", cookies={**jar, **dict(response.cookies)})
    assert "Invalid folder" in page.text and "&#39;..&#39;" in page.text


@pytest.mark.asyncio
async def test_write_bodies_are_bounded_and_checked_before_anything_reads_them(cats_db):
    """Size and encoding are refused at the door (Datasette 0.65's CSRF layer
    reads a whole body before any view runs); permission comes next."""
    ds = make([cats_db])
    headers = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
    token, jar = await csrf(ds, cookies_for(ds, ROOT))
    for cookies in ({}, jar):
        huge = await ds.client.post(
            "/cats/-/cattags/move",
            content=b"x",
            cookies=cookies,
            headers={**headers, "content-length": str(200 * 1024 * 1024)},
        )
        assert huge.status_code == 413
        too_big = "image_id=" + "a" * (2 * 1024 * 1024) + f"&folder=x&csrftoken={token}"
        refused = await ds.client.post(
            "/cats/-/cattags/move", content=too_big, cookies=cookies, headers=headers
        )
        assert refused.status_code == 413
        not_utf8 = f"csrftoken={token}&folder=x&image_id=".encode() + b"\xff"
        refused = await ds.client.post(
            "/cats/-/cattags/undo", content=not_utf8, cookies=cookies, headers=headers
        )
        assert refused.status_code == 400 and "UTF-8" in refused.json()["message"]
    anonymous = await ds.client.post("/cats/-/cattags/undo", content=b"x=1", headers=headers)
    assert anonymous.status_code == 403
    assert rows(cats_db, "select count(*) from moves") == [(0,)]


@pytest.mark.asyncio
async def test_a_locked_database_answers_503_with_a_reason(cats_db):
    ds = make([cats_db])
    image_id = rows(cats_db, "select id from images limit 1")[0][0]
    token, jar = await csrf(ds, cookies_for(ds, ROOT))
    writer = sqlite3.connect(cats_db, timeout=0)
    writer.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        response = await ds.client.post(
            "/cats/-/cattags/move",
            data={"image_id": image_id, "folder": "keep", "csrftoken": token},
            cookies=jar,
            headers={"accept": "application/json"},
        )
    finally:
        writer.rollback()
        writer.close()
    assert response.status_code == 503 and "busy" in response.json()["message"]
    assert rows(cats_db, "select count(*) from moves") == [(0,)]
    assert (cats_db.parent / "thumbs" / f"{image_id}_.png").exists()


@pytest.mark.asyncio
async def test_hooks_leave_other_databases_alone(cats_db, tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("create table images (id text primary key, note text)")
    conn.execute("insert into images values (?, 'a string shaped like an id')", [ID_LIKE])
    conn.commit()
    conn.close()
    ds = make([cats_db, other])
    result = await ds.client.get(
        "/other",
        params={"sql": f"select '{ID_LIKE}' as id, * from images"},
        follow_redirects=True,
    )
    assert result.status_code == 200 and "cattags-thumb" not in result.text
    table = await ds.client.get("/other/images")
    assert table.status_code == 200
    assert "cattags" not in table.text  # no gallery, no stylesheet
    row = await ds.client.get(f"/other/images/{ID_LIKE}")
    assert row.status_code == 200 and "Nearest cats" not in row.text


ID_LIKE = "10x10_0123456789abcdef"


@pytest.mark.asyncio
async def test_default_facets_survive_a_user_override_in_another_instance(cats_db):
    tables = {"databases": {"cats": {"tables": {"images": {"facets": ["folder"]}}}}}
    first = Datasette([str(cats_db)], **{"config" if IS_V1 else "metadata": tables})
    await first.invoke_startup()
    data = (await first.client.get("/cats/images.json?_extra=facet_results")).json()
    assert {f["name"] for f in facet_results(data).values()} == {"folder"}
    second = make([cats_db])
    await second.invoke_startup()
    data = (await second.client.get("/cats/images.json?_extra=facet_results")).json()
    assert "tags" in {f["name"] for f in facet_results(data).values()}


@pytest.mark.asyncio
async def test_the_example_metadata_keeps_the_plugin_facets(cats_db):
    metadata = json.loads(METADATA.read_text())
    assert "facets" not in json.dumps(metadata)  # nothing replaces the plugin's tag facet
    ds = Datasette([str(cats_db)], metadata=metadata)
    await ds.invoke_startup()
    data = (await ds.client.get("/cats/images.json?_extra=facet_results")).json()
    assert {f["name"] for f in facet_results(data).values()} == {
        "tags",
        "folder",
        "look",
        "cluster",
        "nearest_distance",
    } | dated(cats_db)


def dated(db) -> set[str]:
    """{"event"} when some picture has a capture time: a facet with nothing
    to count is not shown."""
    return (
        {"event"}
        if rows(db, "select count(*) from images where event is not null")[0][0]
        else set()
    )


@pytest.mark.asyncio
async def test_the_tag_facet_leaves_size_tags_out_and_names_the_top_level(cats_db):
    ds = make([cats_db])
    data = (await ds.client.get("/cats/images.json?_extra=facet_results")).json()
    facets = {f["name"]: f for f in facet_results(data).values()}
    sizes = {s for (s,) in rows(cats_db, "select size from images")}
    assert not sizes & {v["value"] for v in facets["tags"]["results"]}
    top = next(v for v in facets["folder"]["results"] if v["value"] == "")
    assert top["label"] == "Top level"
    narrowed = await ds.client.get(httpx.URL(top["toggle_url"]).raw_path.decode())
    assert narrowed.status_code == 200


@pytest.mark.asyncio
async def test_the_original_route_serves_only_files_under_the_source_root(cats_db, tmp_path):
    ds = make([cats_db])
    image_id, path, sha = rows(
        cats_db,
        "select i.id, f.path, f.sha256 from images i join files f on f.image_id = i.id"
        " where i.format = 'JPEG' order by i.id limit 1",
    )[0]
    response = await ds.client.get(f"/cats/-/cattags/original/{image_id}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content == (cats_db.parent / path).read_bytes()
    assert response.headers["etag"] == f'"{sha}"'
    assert (
        await ds.client.get("/cats/-/cattags/original/10x10_0123456789abcdef")
    ).status_code == 404
    assert (
        await ds.client.get("/cats/-/cattags/original/..%2F..%2Fetc%2Fpasswd")
    ).status_code == 404
    # The file replaced by a link to a file outside the source root, same size even.
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((cats_db.parent / path).read_bytes())
    (cats_db.parent / path).unlink()
    (cats_db.parent / path).symlink_to(outside)
    refused = await ds.client.get(f"/cats/-/cattags/original/{image_id}")
    assert refused.status_code == 404 and refused.content != outside.read_bytes()
    immutable = make(immutables=[cats_db])
    other = rows(cats_db, "select id from images where id != ? limit 1", [image_id])[0][0]
    assert (await immutable.client.get(f"/cats/-/cattags/original/{other}")).status_code == 404
    private = private_images(cats_db)
    assert (await private.client.get(f"/cats/-/cattags/original/{other}")).status_code == 403


async def review_post(ds, actor, action, data, token=True, json_answer=True):
    """A POST from the duplicates review (decide or keep) as a form sends it."""
    cookies = cookies_for(ds, actor) if actor else {}
    data = list(data)
    if token:
        value, cookies = await csrf(ds, cookies)
        data.append(("csrftoken", value))
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if json_answer:
        headers["accept"] = "application/json"
    return await ds.client.post(
        f"/cats/-/cattags/{action}",
        content=str(httpx.QueryParams(data)),
        cookies=cookies,
        headers=headers,
    )


async def decide_post(ds, actor, a, b, decision, token=True, json_answer=True):
    data = [("image_a", a), ("image_b", b), ("decision", decision)]
    return await review_post(ds, actor, "decide", data, token, json_answer)


def a_group_of_two(cats_db) -> tuple[str, str]:
    cluster = rows(
        cats_db,
        "select cluster from images where cluster is not null group by cluster having count(*) = 2",
    )[0][0]
    return tuple(
        i
        for (i,) in rows(cats_db, "select id from images where cluster = ? order by id", [cluster])
    )


@pytest.mark.asyncio
async def test_the_review_page_lists_sets_of_files_most_first_with_their_differences(cats_db):
    ds = make([cats_db])
    page = await ds.client.get("/cats/-/cattags/duplicates")
    assert page.status_code == 200
    sizes = [
        int(n) for n in re.findall(r'<span class="cattags-count">(\d+) files</span>', page.text)
    ]
    assert sizes and sizes == sorted(sizes, reverse=True)
    sets = list_sets(Database(cats_db))
    assert f"{len(sets)} sets of files" in page.text
    cards = re.findall(r'<p class="cattags-path"><code>([^<]+)</code>', page.text)
    assert cards == [html.escape(f.path) for s in sets for f in s.files]
    assert "Bytes" in page.text and "sha256" in page.text and "bits" in page.text
    assert 'action="/cats/-/cattags/decide"' not in page.text  # anonymous: view only
    assert 'action="/cats/-/cattags/keep"' not in page.text
    root_page = await ds.client.get("/cats/-/cattags/duplicates", cookies=cookies_for(ds, ROOT))
    assert 'action="/cats/-/cattags/decide"' in root_page.text and "csrftoken" in root_page.text
    assert root_page.text.count("Keep this file") == sum(len(s.files) for s in sets)
    gallery = await ds.client.get("/cats/images")
    assert 'href="/cats/-/cattags/duplicates"' in gallery.text


@pytest.mark.asyncio
async def test_keeping_a_file_from_the_review_page_marks_the_others_redundant(cats_db):
    ds = make([cats_db])
    copy_set = list_sets(Database(cats_db))[0]
    first, *others = [f.path for f in copy_set.files]
    assert (await review_post(ds, None, "keep", [("path", first)])).status_code == 403
    answer = await review_post(ds, ROOT, "keep", [("path", first)])
    assert answer.status_code == 200, answer.text
    assert set(answer.json()["redundant"]) == set(others)
    assert rows(cats_db, "select path, actor from kept_files") == [(first, "root")]
    page = await ds.client.get("/cats/-/cattags/duplicates", cookies=cookies_for(ds, ROOT))
    assert page.text.count('cattags-badge">Kept') == 1
    assert page.text.count(">Redundant<") == len(others)
    missing = await review_post(ds, ROOT, "keep", [("path", "no/such.jpg")])
    assert missing.status_code == 404 and "no such source file" in missing.json()["message"]
    assert (await review_post(ds, ROOT, "keep", [])).status_code == 400
    immutable = make(immutables=[cats_db])
    refused = await review_post(immutable, ROOT, "keep", [("path", others[0])])
    assert refused.status_code == 403 and "read-only" in refused.json()["message"]
    assert rows(cats_db, "select path from kept_files") == [(first,)]


@pytest.mark.asyncio
async def test_deciding_from_the_review_page_as_root_splits_a_group(cats_db):
    ds = make([cats_db])
    a, b = a_group_of_two(cats_db)
    refused = await decide_post(ds, None, a, b, "different", token=False)
    assert refused.status_code == 403
    answer = await decide_post(ds, ROOT, a, b, "different")
    assert answer.status_code == 200, answer.text
    assert rows(cats_db, "select decision, actor from decisions") == [("different", "root")]
    assert rows(cats_db, "select cluster from images where id in (?, ?)", [a, b]) == [
        (None,),
        (None,),
    ]
    again = await decide_post(ds, ROOT, a, b, "same")
    assert again.status_code == 200
    clusters = rows(cats_db, "select cluster from images where id in (?, ?)", [a, b])
    assert clusters[0] == clusters[1] != (None,)
    bad = await decide_post(ds, ROOT, a, "10x10_0123456789abcdef", "same")
    assert bad.status_code == 404
    nonsense = await decide_post(ds, ROOT, a, b, "maybe")
    assert nonsense.status_code == 400


@pytest.mark.asyncio
async def test_the_review_page_needs_the_csrf_token_and_is_view_only_when_immutable(cats_db):
    ds = make([cats_db])
    a, b = a_group_of_two(cats_db)
    if not IS_V1:  # 0.65: asgi-csrf refuses a cookie without its token
        without = await decide_post(ds, ROOT, a, b, "different", token=False, json_answer=False)
        assert without.status_code == 403
    assert rows(cats_db, "select count(*) from decisions") == [(0,)]
    immutable = make(immutables=[cats_db])
    page = await immutable.client.get(
        "/cats/-/cattags/duplicates", cookies=cookies_for(immutable, ROOT)
    )
    assert page.status_code == 200 and "read-only" in page.text
    assert 'action="/cats/-/cattags/decide"' not in page.text
    refused = await decide_post(immutable, ROOT, a, b, "different")
    assert refused.status_code == 403 and "read-only" in refused.json()["message"]
    private = private_images(cats_db)
    assert (await private.client.get("/cats/-/cattags/duplicates")).status_code == 403


@pytest.mark.asyncio
async def test_a_picture_of_several_files_links_to_where_the_review_lists_them(cats_db):
    ds = make([cats_db])
    several = rows(
        cats_db,
        "select i.id, i.cluster from images i join files f on f.image_id = i.id"
        " group by i.id having count(*) > 1 order by i.id limit 1",
    )
    (image_id, cluster), *_ = several
    page = await ds.client.get(f"/cats/images/{image_id}")
    anchor = f"group-{cluster}" if cluster else f"picture-{image_id}"
    assert f'href="/cats/-/cattags/duplicates#{anchor}"' in page.text
    review = await ds.client.get("/cats/-/cattags/duplicates")
    assert f'id="{anchor}"' in review.text
    single = rows(
        cats_db,
        "select image_id from files group by image_id having count(*) = 1 order by 1 limit 1",
    )[0][0]
    assert "compare these files" not in (await ds.client.get(f"/cats/images/{single}")).text
