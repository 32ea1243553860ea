"""Capture times from EXIF, never from the file, and events split by gaps."""

import random

import pytest
from PIL import Image

from ingest.demo import draw_cat
from ingest.pipeline import ingest
from ingest.taken import EXIF_IFD, parse_exif_date, parse_offset

from .conftest import rows

ORIGINAL, OFFSET_ORIGINAL, DATE_TIME = 0x9003, 0x9011, 0x0132


def save_with_exif(path, seed: int, original=None, offset=None, date_time=None) -> None:
    """A drawn cat as a JPEG with the EXIF dates given (None: left out)."""
    img = draw_cat(random.Random(seed), 160, 120, "calico")
    exif = Image.Exif()
    if date_time is not None:
        exif[DATE_TIME] = date_time
    detail = {}
    if original is not None:
        detail[ORIGINAL] = original
    if offset is not None:
        detail[OFFSET_ORIGINAL] = offset
    if detail:
        exif.get_ifd(EXIF_IFD).update(detail)
    img.save(path, exif=exif)


def by_path(source, column: str) -> dict:
    """{source path: that column of its picture}."""
    return dict(
        rows(
            source / "cats.db",
            f"select f.path, i.{column} from files f join images i on i.id = f.image_id",
        )
    )


def test_capture_times_come_from_exif_with_their_offsets(tmp_path):
    source = tmp_path / "cats"
    source.mkdir()
    save_with_exif(source / "a.jpg", 1, "2024:05:01 12:30:00", "+02:00")
    save_with_exif(source / "b.jpg", 2, "2024:05:01 13:00:05")  # no offset
    save_with_exif(source / "c.jpg", 3, date_time="2023:12:24 18:00:00")  # DateTime only
    save_with_exif(source / "d.jpg", 4)  # no date: never the file's time
    for n, broken in enumerate(["0000:00:00 00:00:00", "9999:12:31 23:59:59", "yesterday"]):
        save_with_exif(source / f"broken{n}.jpg", 10 + n, broken, "+99:99")
    summary = ingest(source, workers=1)
    assert summary.errors == 0
    taken = by_path(source, "taken")
    assert taken == {
        "a.jpg": "2024-05-01T12:30:00+02:00",
        "b.jpg": "2024-05-01T13:00:05",
        "c.jpg": "2023-12-24T18:00:00",
        "d.jpg": None,
        "broken0.jpg": None,
        "broken1.jpg": None,
        "broken2.jpg": None,
    }


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024:02:29 23:59:59", "2024-02-29T23:59:59"),
        ("2023:02:29 10:00:00", None),  # no such day
        ("2024:13:01 10:00:00", None),
        (b"2024:01:01 10:00:00\x00", "2024-01-01T10:00:00"),
        ("    :  :     :  :  ", None),
        (None, None),
        (12345, None),
    ],
)
def test_exif_dates_are_read_strictly(text, expected):
    assert parse_exif_date(text) == expected


def test_offsets_are_read_strictly():
    assert parse_offset("-05:30") == "-05:30"
    assert parse_offset("+15:00") == "" and parse_offset("05:00") == "" and parse_offset(None) == ""


def test_events_start_after_a_gap_of_three_hours(tmp_path):
    source = tmp_path / "cats"
    source.mkdir()
    times = [
        ("2024:05:01 09:00:00", None),  # a morning walk...
        ("2024:05:01 10:30:00", None),
        ("2024:05:01 12:29:00", None),
        ("2024:05:01 18:00:00", None),  # ...an evening
        ("2024:05:01 20:00:00", "+02:00"),  # 18:00 UTC: the same evening
        ("2024:05:03 08:00:00", None),  # two days later
    ]
    for n, (when, offset) in enumerate(times):
        save_with_exif(source / f"p{n}.jpg", 20 + n, when, offset)
    save_with_exif(source / "undated.jpg", 40)
    ingest(source, workers=1)
    event = by_path(source, "event")
    assert [event[f"p{n}.jpg"] for n in range(6)] == [1, 1, 1, 2, 2, 3]
    assert event["undated.jpg"] is None
    # A picture between them, over 3 hours from both, is an event of its own.
    save_with_exif(source / "late.jpg", 50, "2024:05:02 02:00:00")
    ingest(source, workers=1)
    event = by_path(source, "event")
    assert [event[f"p{n}.jpg"] for n in range(6)] == [1, 1, 1, 2, 2, 4]
    assert event["late.jpg"] == 3


def test_the_gallery_facets_events_once_pictures_have_capture_times(tmp_path):
    import asyncio

    from datasette.app import Datasette

    source = tmp_path / "cats"
    source.mkdir()
    save_with_exif(source / "dated.jpg", 60, "2024:05:01 09:00:00")
    save_with_exif(source / "undated.jpg", 61)
    ingest(source, workers=1)

    async def facets():
        ds = Datasette([str(source / "cats.db")])
        await ds.invoke_startup()
        data = (await ds.client.get("/cats/images.json?_extra=facet_results")).json()
        results = data["facet_results"]
        return {f["name"]: f for f in results.get("results", results).values()}

    event = asyncio.run(facets())["event"]
    assert [(v["value"], v["count"]) for v in event["results"]] == [(1, 1)]
