"""What one anonymous visitor can cost a published instance: nearest_images
bounded in size and time, originals streamed, metadata capped."""

import asyncio
import json
import random
import sqlite3
import time

import pytest
from datasette.app import Datasette
from datasette.plugins import pm
from PIL import Image

import datasette_cattags
from datasette_cattags import views
from ingest import lookup
from ingest.library import open_database, register_functions
from ingest.pipeline import ingest

from .conftest import rows

if not pm.is_registered(datasette_cattags):
    pm.register(datasette_cattags, name="datasette-cattags")

TIED = "00000000000000ff"  # the whash every tied picture shares
MAX_HITS = getattr(lookup, "MAX_HITS", 1000)  # (a name older code lacks: its tests fail, not error)
CHUNK_BYTES = 256 * 1024  # datasette_cattags.streaming.CHUNK_BYTES


def tied_library(path, count: int):
    """A library of `count` pictures that all share one whash, plus one apart."""
    db = open_database(path)
    code = int(TIED, 16)
    db.conn.executemany(
        "insert into images (id, width, height, size, whash, whash_int) values (?, ?, 1, ?, ?, ?)",
        [(f"{n}x1_{TIED}", n, f"{n}x1", TIED, code) for n in range(1, count + 1)]
        + [(f"1x2_{'f' * 16}", 1, "1x2", "f" * 16, -1)],
    )
    db.conn.commit()
    return db


def test_nearest_images_returns_at_most_max_hits_and_says_how_many_ties_it_left_out(tmp_path):
    db = tied_library(tmp_path / "tied.db", MAX_HITS + 500)
    hits = json.loads(db.execute("select nearest_images(?, 1)", [TIED]).fetchone()[0])
    assert len(hits) == MAX_HITS + 1
    assert hits[:3] == [[1, 0], [2, 0], [3, 0]]  # ties kept by rowid
    assert hits[-1] == [None, 0, 500]  # 500 pictures at distance 0 left out
    # A join on rowid drops the marker: exactly MAX_HITS pictures.
    joined = db.execute(
        "select count(*) from json_each(nearest_images(?, 5)) hit"
        " join images on images.rowid = json_extract(hit.value, '$[0]')",
        [TIED],
    ).fetchone()[0]
    assert joined == MAX_HITS
    # Without too many ties nothing changes: the picture apart is 8 bits away.
    apart = json.loads(db.execute("select nearest_images(?, 1)", ["f" * 16]).fetchone()[0])
    assert apart == [[MAX_HITS + 501, 0]]


def test_the_calls_of_one_statement_stop_at_the_time_limit(tmp_path):
    tied_library(tmp_path / "tied.db", 10).conn.close()
    conn = sqlite3.connect(tmp_path / "tied.db")
    register_functions(conn, time_limit_ms=20)
    conn.create_function("pause", 1, lambda ms: time.sleep(ms / 1000) or ms)
    assert conn.execute("select nearest_images(?, 1) is not null", [TIED]).fetchone() == (1,)
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        conn.execute("select pause(30), nearest_images(?, 1)", [TIED]).fetchone()
    # The next statement has its own time again.
    assert conn.execute("select pause(5), nearest_images(?, 1) is not null", [TIED]).fetchone()


@pytest.mark.asyncio
async def test_a_query_repeating_nearest_images_stops_at_datasettes_time_limit(tmp_path):
    """Datasette checks its limit only every 1000 SQLite steps; 250 calls in
    one row are fewer steps than that, so only the function can stop them."""
    tied_library(tmp_path / "tied.db", 20_000).conn.close()
    ds = Datasette([str(tmp_path / "tied.db")], settings={"sql_time_limit_ms": 20})
    calls = ", ".join(f"length(nearest_images('{TIED}', {n}))" for n in range(1, 251))
    response = await ds.client.get(
        "/tied.json", params={"sql": f"select {calls}"}, follow_redirects=True
    )
    assert response.status_code == 400
    assert "took too long" in response.text


@pytest.fixture
def big_original(tmp_path):
    """A library of one noisy 1 MB PNG, and the PNG's path."""
    source = tmp_path / "cats"
    source.mkdir()
    noise = Image.frombytes("RGB", (600, 600), random.Random(5).randbytes(600 * 600 * 3))
    noise.save(source / "noise.png", compress_level=0)
    ingest(source, workers=1)
    image_id = rows(source / "cats.db", "select id from images")[0][0]
    return source / "cats.db", image_id, source / "noise.png"


async def asgi_get(ds, path: str, headers=()) -> tuple[dict, list[bytes]]:
    """A GET straight through Datasette's ASGI app: the start message and
    each body message as sent (httpx would join them)."""
    sent = []

    async def receive():
        if not sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers],
    }
    await ds.app()(scope, receive, send)
    return sent[0], [m["body"] for m in sent[1:]]


@pytest.mark.asyncio
async def test_an_original_is_sent_in_chunks_never_read_whole(big_original):
    db, image_id, path = big_original
    ds = Datasette([str(db)])
    start, bodies = await asgi_get(ds, f"/cats/-/cattags/original/{image_id}")
    assert start["status"] == 200
    assert b"".join(bodies) == path.read_bytes()
    assert len(bodies) >= path.stat().st_size // CHUNK_BYTES
    assert max(len(body) for body in bodies) <= CHUNK_BYTES
    from datasette_cattags.streaming import CHUNK_BYTES as chunk

    assert chunk == CHUNK_BYTES


@pytest.mark.asyncio
async def test_an_original_answers_byte_ranges(big_original):
    db, image_id, path = big_original
    ds = Datasette([str(db)])
    data, url = path.read_bytes(), f"/cats/-/cattags/original/{image_id}"
    whole = await ds.client.get(url)
    assert whole.headers["accept-ranges"] == "bytes"
    part = await ds.client.get(url, headers={"range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = await ds.client.get(url, headers={"range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    past = await ds.client.get(url, headers={"range": f"bytes={len(data)}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(data)}"
    # If-Range with another version: the whole file.
    stale = await ds.client.get(url, headers={"range": "bytes=0-9", "if-range": '"old"'})
    assert stale.status_code == 200 and stale.content == data
    head = await ds.client.request("HEAD", url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    assert head.content == b""


@pytest.mark.asyncio
async def test_originals_sent_at_once_are_bounded(big_original, monkeypatch):
    from datasette_cattags import streaming

    db, image_id, _ = big_original
    ds = Datasette([str(db)])
    monkeypatch.setattr(streaming, "QUEUE_SECONDS", 0.2)
    monkeypatch.setattr(views, "QUEUE_SECONDS", 0.2)
    taken = streaming.places(ds)
    for _ in range(streaming.MAX_STREAMS):
        await taken.acquire()
    busy = await ds.client.get(f"/cats/-/cattags/original/{image_id}")
    assert busy.status_code == 503 and busy.headers["retry-after"]
    taken.release()
    assert (await ds.client.get(f"/cats/-/cattags/original/{image_id}")).status_code == 200


@pytest.mark.asyncio
async def test_a_replaced_original_of_the_same_size_is_not_served_with_the_old_etag(big_original):
    db, image_id, path = big_original
    ds = Datasette([str(db)])
    url = f"/cats/-/cattags/original/{image_id}"
    first = await ds.client.get(url)
    assert first.status_code == 200
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF  # other bytes, same size
    time.sleep(0.01)
    path.write_bytes(bytes(data))
    again = await ds.client.get(url)
    assert again.status_code == 404 and again.content != bytes(data)
    assert again.headers.get("etag") != first.headers["etag"]


def xmp_packet(size: int) -> str:
    """An XMP packet of about `size` bytes with a title, padded by a long description."""
    padding = "cat " * (size // 4)
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
        ' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"><rdf:Description>'
        "<dc:title>Tabby on a mat</dc:title>"
        f"<dc:description>{padding}</dc:description>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )


@pytest.mark.parametrize("size", [200_000, 5_000_000])
def test_a_huge_xmp_packet_is_cut_to_a_few_kb_and_says_so(tmp_path, size):
    from PIL.PngImagePlugin import PngInfo

    source = tmp_path / "cats"
    source.mkdir()
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp_packet(size))
    Image.new("RGB", (64, 48), "orange").save(source / "meta.png", pnginfo=info)
    ingest(source, workers=1)
    db = source / "cats.db"
    (kept,) = rows(db, "select xmp from images")[0]
    thumb_bytes = rows(db, "select length(png) from thumbnails")[0][0]
    assert len(kept) < 5000 and thumb_bytes < 10_000
    packet = json.loads(kept)
    assert packet["truncated"]["bytes"] >= size
    if size < 1_000_000:  # parsed: the fields a person reads are kept
        assert packet["title"] == "Tabby on a mat"
        assert packet["description"].startswith("cat cat")
