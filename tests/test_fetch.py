"""`cattags fetch` against a real HTTP server on 127.0.0.1 started by the tests."""

import gzip
import io
import socket
import struct
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from ingest.cli import cli
from ingest.fetch import USER_AGENT, Fetcher, fetch_pictures, retry_after

SLOW = 1.5  # seconds the slow answer takes; the tests' timeout is shorter
GZIP_BOMB = gzip.compress(bytes(64 * 1024 * 1024), compresslevel=9)


def picture(number: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40 + number, 30), (number * 7 % 256, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()


class CatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), CatHandler)
        self.script: list[str] = []  # what the next requests get; then new pictures
        self.served = 0
        self.agents: list[str] = []
        self.lock = threading.Lock()

    def next_behaviour(self) -> tuple[str, int]:
        with self.lock:
            self.served += 1
            return (self.script.pop(0) if self.script else "new"), self.served


class CatHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send_body(self, status: int, body: bytes, content_type: str, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def send_raw(self, body: bytes, encoding: str):
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def trickle(self, data: bytes, pause: float):
        for n in range(len(data)):
            self.wfile.write(data[n : n + 1])
            self.wfile.flush()
            time.sleep(pause)

    def do_GET(self):
        self.server.agents.append(self.headers.get("User-Agent", ""))
        port = self.server.server_address[1]
        if self.path == "/loop":
            self.send_body(302, b"", "text/plain", [("Location", f"http://127.0.0.1:{port}/loop")])
            return
        if self.path == "/always-429":
            self.send_body(429, b"slow down", "text/plain", [("Retry-After", "2")])
            return
        if self.path == "/gzip-bomb":  # 64 MB of zeros in ~64 KB
            self.send_raw(GZIP_BOMB, "gzip")
            return
        if self.path == "/stacked":  # gzip of gzip: each layer small, the whole enormous
            self.send_raw(gzip.compress(GZIP_BOMB), "gzip, gzip")
            return
        if self.path == "/broken-gzip":
            self.send_raw(gzip.compress(picture(5))[:-20], "gzip")
            return
        if self.path == "/gzip-cat":
            self.send_raw(gzip.compress(picture(6)), "gzip")
            return
        if self.path == "/trickle-body":
            body = picture(7)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.trickle(body, 0.05)
            return
        if self.path == "/trickle-headers":
            self.trickle(b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n", 0.05)
            return
        if self.path.startswith("/fixed/"):
            self.send_body(200, picture(int(self.path.rsplit("/", 1)[1])), "image/png")
            return
        behaviour, number = self.server.next_behaviour()
        if behaviour == "new":
            self.send_body(200, picture(number), "image/png")
        elif behaviour == "repeat":
            self.send_body(200, picture(1), "image/png")
        elif behaviour == "500":
            self.send_body(500, b"oops", "text/plain")
        elif behaviour == "429":
            self.send_body(429, b"slow down", "text/plain", [("Retry-After", "2")])
        elif behaviour == "html":
            self.send_body(
                200, b"<html><body>Error: no cat today</body></html>", "text/html; charset=utf-8"
            )
        elif behaviour == "lying":  # says image/png, is not
            self.send_body(200, b"GIF89a but not really", "image/png")
        elif behaviour == "big":  # no Content-Length: only streaming can stop it
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"\0" * 16384)
        elif behaviour == "slow":
            time.sleep(SLOW)
            self.send_body(200, picture(number), "image/png")
        elif behaviour == "reset":
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.request.close()
        elif behaviour == "404":
            self.send_body(404, b"gone", "text/plain")


@pytest.fixture
def server():
    srv = CatServer()
    # A short poll: shutdown() waits up to one poll interval (0.5 s by default).
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url_of(server, path="/cat") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


OPEN: list[Fetcher] = []  # closed after each test


@pytest.fixture(autouse=True)
def close_fetchers():
    yield
    while OPEN:
        OPEN.pop().close()


def make_fetcher(tmp_path, waits=None, **kwargs) -> Fetcher:
    waits = waits if waits is not None else []
    options = {"timeout": 0.5, "retries": 3, "max_bytes": 100_000, "delay": 0.0}
    options.update(kwargs)
    fetcher = Fetcher(tmp_path / "cats", sleep=waits.append, **options)
    OPEN.append(fetcher)
    return fetcher


def saved_files(tmp_path) -> list[Path]:
    return sorted((tmp_path / "cats").iterdir())


def test_fetches_count_new_pictures_named_by_content(server, tmp_path):
    summary, shortfall = fetch_pictures(make_fetcher(tmp_path), url_of(server), count=5)
    assert shortfall is None and summary.saved == 5
    files = saved_files(tmp_path)
    assert len(files) == 5 and all(f.suffix == ".png" for f in files)
    assert all(Image.open(f).size[1] == 30 for f in files)
    assert set(server.agents) == {USER_AGENT}


def test_every_kind_of_trouble_is_retried_refused_or_noticed(server, tmp_path):
    server.script = ["500", "429", "html", "big", "slow", "reset", "repeat", "lying", "repeat"]
    waits: list[float] = []
    summary, shortfall = fetch_pictures(make_fetcher(tmp_path, waits), url_of(server), count=4)
    assert shortfall is None and summary.saved == 4
    assert summary.retries == 4  # the 500, the 429, the slow answer, the reset
    assert summary.refused == {"text/html": 1, "too large": 1, "image/png": 1}
    assert summary.repeats == 1  # picture 1 twice: the first "repeat" saved it
    assert 2.0 in waits  # Retry-After honoured
    assert len(saved_files(tmp_path)) == 4
    assert not [
        p for p in (tmp_path / "cats").iterdir() if p.name.startswith(".")
    ]  # no partial file
    assert "4 saved, 1 repeats, 4 retries, 3 refused" in summary.line()


def test_running_again_adds_without_duplicates(server, tmp_path):
    fetch_pictures(make_fetcher(tmp_path), url_of(server, "/fixed/3"), count=1)
    summary, shortfall = fetch_pictures(
        make_fetcher(tmp_path), url_of(server, "/fixed/3"), count=1, max_attempts=3
    )
    assert summary.saved == 0 and summary.repeats == 3
    assert shortfall and "only 0 of 1" in shortfall
    assert len(saved_files(tmp_path)) == 1


def test_gives_up_after_the_retries_with_the_reason(server, tmp_path):
    server.script = ["500"] * 20
    summary, shortfall = fetch_pictures(
        make_fetcher(tmp_path, retries=2), url_of(server), count=1, max_attempts=2
    )
    assert summary.saved == 0 and len(summary.failed) == 2 and "HTTP 500" in summary.failed[0]
    assert shortfall == "only 0 of 1 new pictures after 2 attempts"


def test_backoff_grows_between_retries(server, tmp_path):
    server.script = ["500", "500", "500"]
    waits: list[float] = []
    fetch_pictures(make_fetcher(tmp_path, waits, retries=3), url_of(server), count=1)
    assert len(waits) == 3 and waits[0] < waits[1] < waits[2]
    assert 1.0 <= waits[0] <= 1.5 and 4.0 <= waits[2] <= 6.0


def test_polite_delay_between_requests(server, tmp_path):
    waits: list[float] = []
    fetch_pictures(make_fetcher(tmp_path, waits, delay=0.25), url_of(server), count=3)
    assert waits.count(0.25) == 2  # between three requests, not before the first


def test_from_file_fetches_a_list_and_reports_what_gave_no_picture(server, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        f"# cats\n{url_of(server, '/fixed/1')}\n\n{url_of(server, '/fixed/2')}\n{url_of(server, '/gone')}\n"
    )
    server.script = ["404"]
    result = CliRunner().invoke(
        cli,
        [
            "fetch",
            "--from-file",
            str(listing),
            "--into",
            str(tmp_path / "cats"),
            "--delay",
            "0",
            "-s",
        ],
    )
    assert result.exit_code == 1
    assert "2 saved, 0 repeats, 0 retries, 1 refused (HTTP 404)" in result.output
    assert "1 of 3 addresses gave no picture" in result.output
    assert "Traceback" not in result.output


def test_cli_fetch_then_ingest(server, tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "fetch",
            url_of(server),
            "--count",
            "3",
            "--into",
            str(tmp_path / "cats"),
            "--delay",
            "0",
            "--ingest",
            "-s",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "3 saved" in result.output and "3 files (0 unchanged), 3 images (3 new)" in result.output
    assert (tmp_path / "cats" / "cats.db").exists()


@pytest.mark.parametrize("value, seconds", [("3", 3.0), ("1000", 60.0), ("", None), ("soon", None)])
def test_retry_after_values(value, seconds):
    assert retry_after(value) == seconds


def test_max_bytes_sizes_are_parsed(tmp_path):
    result = CliRunner().invoke(
        cli, ["fetch", "http://127.0.0.1:9/", "--into", str(tmp_path / "c"), "--max-bytes", "lots"]
    )
    assert result.exit_code == 2 and "50MB" in result.output


def test_compressed_bodies_are_bounded_whatever_the_server_sends(server, tmp_path):
    fetcher = make_fetcher(tmp_path, max_bytes=100_000)
    tracemalloc.start()
    try:
        for path in ("/gzip-bomb", "/stacked"):
            assert fetcher.fetch_one(url_of(server, path)) is False
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024, peak  # a 64 MB bomb never inflates past the limit
    assert fetcher.summary.refused == {
        "too large": 1,
        "Content-Encoding 'gzip, gzip' (one of gzip, deflate)": 1,
    }
    assert fetcher.fetch_one(url_of(server, "/gzip-cat")) is True  # plain gzip is fine


def test_a_request_is_bounded_as_a_whole_by_the_timeout(server, tmp_path):
    """A body or headers trickled a byte at a time never trip a per-read
    timeout; the whole request still ends at --timeout."""
    for path in ("/trickle-body", "/trickle-headers"):
        fetcher = make_fetcher(tmp_path, timeout=1.0, retries=0)
        started = time.monotonic()
        assert fetcher.fetch_one(url_of(server, path)) is False
        assert time.monotonic() - started < 3.0, path
        assert "within --timeout 1 s" in fetcher.summary.failed[0]


def test_a_server_that_always_says_later_is_given_up_after_a_bounded_wait(server, tmp_path):
    waits: list[float] = []
    fetcher = make_fetcher(tmp_path, waits, retries=5, max_wait=10)
    summary, shortfall = fetch_pictures(fetcher, url_of(server, "/always-429"), count=100)
    assert sum(w for w in waits) <= 10
    assert len(server.agents) <= 10  # not the 1,860 requests of an unbounded run
    assert shortfall.startswith("only 0 of 100 new pictures")
    assert "gave up after waiting 10 s in all (--max-wait 10): HTTP 429" in shortfall


def test_bad_addresses_and_broken_answers_are_refused_and_the_list_goes_on(server, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        "\n".join(
            [
                "http://[::1",
                "file:///etc/passwd",
                "ftp://example.com/cat.png",
                url_of(server, "/loop"),
                url_of(server, "/broken-gzip"),
                url_of(server, "/fixed/4"),
            ]
        )
    )
    result = CliRunner().invoke(
        cli,
        ["fetch", "--from-file", str(listing), "--into", str(tmp_path / "c"), "--delay", "0"],
    )
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "1 saved, 0 repeats, 0 retries, 5 refused" in result.output
    for reason in ("not a valid address", "not an http(s) address", "redirect loop", "broken"):
        assert reason in result.output, reason
    assert "5 of 6 addresses gave no picture" in result.output
    assert len(list((tmp_path / "c").iterdir())) == 1
