"""`cattags fetch`: gather pictures over HTTP, politely and safely.

One httpx client; retries with exponential backoff and jitter on connection
errors, timeouts, 5xx and 429 (honouring Retry-After), within a total wait
per address; each request bounded as a whole by the timeout; bodies read raw
and decompressed by us with a bound, so neither the wire nor a compression
bomb passes the size limit; only what Pillow can decode is kept; files are
named by their content and written atomically, so repeats are noticed and an
interrupted run leaves no partial file.
"""

from __future__ import annotations

import email.utils
import hashlib
import io
import random
import signal
import threading
import time
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from PIL import Image, UnidentifiedImageError

from . import __version__
from .files import write_atomically

USER_AGENT = (
    f"datasette-cattags/{__version__} (cattags fetch; +https://pypi.org/project/datasette-cattags/)"
)
BACKOFF_BASE = 1.0  # seconds before the first retry; doubles each time
BACKOFF_CAP = 60.0  # never wait longer than this between retries
RETRY_STATUSES = {429, 500, 502, 503, 504}
DEFAULT_MAX_WAIT = 600.0  # seconds of retry waits per address before giving it up
SCHEMES = {"http", "https"}
# Content-Encoding -> zlib window bits; anything else (or a stack) is refused.
ENCODINGS = {
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": 32 + zlib.MAX_WBITS,
}
SUFFIXES = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "GIF": ".gif",
    "WEBP": ".webp",
    "TIFF": ".tif",
    "BMP": ".bmp",
}


@dataclass
class FetchSummary:
    """What a fetch run did."""

    saved: int = 0
    repeats: int = 0
    retries: int = 0
    refused: Counter = field(default_factory=Counter)  # reason -> count
    failed: list[str] = field(default_factory=list)  # "url: reason" after all retries

    def line(self) -> str:
        parts = [f"{self.saved:,} saved", f"{self.repeats:,} repeats", f"{self.retries:,} retries"]
        refused = sum(self.refused.values())
        if refused:
            reasons = ", ".join(f"{reason}" for reason in sorted(self.refused))
            parts.append(f"{refused:,} refused ({reasons})")
        if self.failed:
            parts.append(f"{len(self.failed):,} failed")
        return ", ".join(parts)


class Refused(Exception):
    """An answer that is not a picture we keep; the message is the reason."""


class Retry(Exception):
    """A failure worth another try, after `wait` seconds (None: back off)."""

    def __init__(self, problem: str, wait: float | None = None):
        super().__init__(problem)
        self.problem = problem
        self.wait = wait


class GaveUp(Exception):
    """A request that still failed after every retry."""


class OutOfTime(Exception):
    """Raised (from a timer signal) when a whole request took longer than the timeout."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise OutOfTime in this block after `seconds`, even inside a socket read
    that trickles one byte at a time (per-read timeouts never fire then).

    Needs the main thread of a Unix process; elsewhere the body loop's own
    deadline check is the bound."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def expire(signum, frame):
        raise OutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Fetcher:
    """One polite client and the rules it follows."""

    into: Path
    timeout: float = 30.0
    retries: int = 5
    max_bytes: int = 50 * 1024 * 1024
    delay: float = 1.0
    max_wait: float = DEFAULT_MAX_WAIT
    sleep: Callable[[float], None] = time.sleep
    summary: FetchSummary = field(default_factory=FetchSummary)

    def __post_init__(self):
        self.client = self._new_client()
        self.into.mkdir(parents=True, exist_ok=True)
        self.requests = 0
        self.waited: Counter = Counter()  # address -> seconds spent waiting to retry it
        self.given_up: dict[str, str] = {}  # address -> why no more requests go to it

    def _new_client(self) -> httpx.Client:
        return httpx.Client(
            timeout=self.timeout,
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def fetch_one(self, url: str) -> bool:
        """GET url and keep the picture; True if a new file was saved."""
        try:
            data, fmt = self.download(url)
        except Refused as reason:
            self.summary.refused[str(reason)] += 1
            return False
        except GaveUp as error:
            self.summary.failed.append(f"{url}: {error}")
            return False
        name = f"{hashlib.sha256(data).hexdigest()[:32]}{SUFFIXES.get(fmt, '.img')}"
        path = self.into / name
        if path.exists():
            self.summary.repeats += 1
            return False
        write_atomically(path, data)
        self.summary.saved += 1
        return True

    def download(self, url: str) -> tuple[bytes, str]:
        """Body and picture format of a successful GET, retrying what is worth it."""
        try:
            check_address(url)
        except Refused as reason:
            self.given_up[url] = str(reason)
            raise
        for attempt in range(self.retries + 1):
            if self.requests and self.delay > 0:
                self.sleep(self.delay)  # polite, between any two requests
            self.requests += 1
            try:
                return self._attempt(url)
            except Retry as answer:
                retry = answer
            wait = retry.wait if retry.wait is not None else backoff(attempt)
            if attempt == self.retries:
                raise GaveUp(retry.problem)
            if self.waited[url] + wait > self.max_wait:
                why = (
                    f"gave up after waiting {self.waited[url]:.0f} s in all"
                    f" (--max-wait {self.max_wait:.0f}): {retry.problem}"
                )
                self.given_up[url] = why
                raise GaveUp(why)
            self.waited[url] += wait
            self.summary.retries += 1
            self.sleep(wait)
        raise GaveUp("no attempt made")

    def _attempt(self, url: str) -> tuple[bytes, str]:
        """One GET, bounded as a whole by the timeout: the body and its format,
        or Retry, or Refused."""
        try:
            with time_limit(self.timeout):
                body, content_type = self._get(url, time.monotonic() + self.timeout)
        except OutOfTime:
            # Interrupted anywhere inside httpx: start again with a fresh client.
            self.client.close()
            self.client = self._new_client()
            raise Retry(f"no complete answer within --timeout {self.timeout:g} s") from None
        except httpx.TooManyRedirects:
            raise Refused("redirect loop") from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as error:
            raise Retry(f"{type(error).__name__}: {error}".rstrip(": ")) from None
        except httpx.UnsupportedProtocol:
            raise Refused("not an http(s) address") from None
        except httpx.HTTPError as error:  # invalid answers, proxies: not worth a retry
            raise Refused(f"{type(error).__name__}") from None
        if not body:
            raise Refused("empty")
        try:
            return body, picture_format(body)
        except Refused:
            raise Refused(content_type or "not a picture") from None

    def _get(self, url: str, deadline: float) -> tuple[bytes, str]:
        with self.client.stream("GET", url) as response:
            if response.status_code in RETRY_STATUSES:
                wait = retry_after(response.headers.get("retry-after"))
                raise Retry(f"HTTP {response.status_code}", wait)
            if response.status_code >= 400:
                raise Refused(f"HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise Refused("too large")
            content_type = response.headers.get("content-type", "").split(";")[0].strip()
            decoder = Decoder(response.headers.get("content-encoding", ""), self.max_bytes)
            for chunk in response.iter_raw():
                decoder.feed(chunk)
                if time.monotonic() > deadline:
                    raise OutOfTime
            return decoder.finish(), content_type


def check_address(url: str) -> None:
    """Refused at once (never retried) for what is not an http(s) address."""
    try:
        scheme = httpx.URL(url).scheme
    except httpx.InvalidURL as error:
        raise Refused(f"not a valid address ({error})") from None
    if scheme not in SCHEMES:
        raise Refused(f"not an http(s) address ({scheme or 'no scheme'})")


class Decoder:
    """The body from raw bytes, decompressed here with a bound: a few KB that
    inflate to a GB stop at max_bytes, in memory and in CPU."""

    def __init__(self, encoding: str, max_bytes: int):
        name = encoding.strip().lower()
        if name in ("", "identity"):
            self.inflate = None
        elif name in ENCODINGS:
            self.inflate = zlib.decompressobj(ENCODINGS[name])
        else:
            raise Refused(f"Content-Encoding {encoding.strip()!r} (one of gzip, deflate)")
        self.max_bytes = max_bytes
        self.raw = 0
        self.body = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.raw += len(chunk)
        if self.raw > self.max_bytes:
            raise Refused("too large")
        if self.inflate is None:
            self.body += chunk
        else:
            room = self.max_bytes - len(self.body) + 1
            try:
                self.body += self.inflate.decompress(chunk, room)
            except zlib.error:
                raise Refused("broken compressed body") from None
            if self.inflate.unconsumed_tail:
                raise Refused("too large")
        if len(self.body) > self.max_bytes:
            raise Refused("too large")  # stop reading before it fills memory or disk

    def finish(self) -> bytes:
        if self.inflate is not None:
            try:
                self.body += self.inflate.flush()
            except zlib.error:
                raise Refused("broken compressed body") from None
            if not self.inflate.eof:
                raise Refused("broken compressed body (cut short)")
        if len(self.body) > self.max_bytes:
            raise Refused("too large")
        return bytes(self.body)


def picture_format(data: bytes) -> str:
    """Pillow's format name if the bytes decode as a picture, else Refused."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                return img.format or "unknown"
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise Refused(f"not a picture: {type(error).__name__}") from None


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: 1, 2, 4 ... seconds, each up to 50% more."""
    base = min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt))
    return base * (1 + random.random() * 0.5)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), BACKOFF_CAP)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), BACKOFF_CAP))


def fetch_pictures(
    fetcher: Fetcher,
    url: str | None = None,
    count: int | None = None,
    urls: Iterable[str] = (),
    max_attempts: int | None = None,
    on_progress: Callable[[int], None] = lambda n: None,
) -> tuple[FetchSummary, str | None]:
    """Fetch until `count` new pictures from `url`, or each of `urls` once.

    Returns the summary and, when the run fell short, the reason.
    """
    if url is not None:
        wanted = count or 1
        limit = max_attempts or wanted * 3 + 10
        attempts = 0
        while fetcher.summary.saved < wanted and attempts < limit:
            attempts += 1
            if fetcher.fetch_one(url):
                on_progress(1)
            if url in fetcher.given_up:
                break
        if fetcher.summary.saved < wanted:
            why = f": {fetcher.given_up[url]}" if url in fetcher.given_up else ""
            return fetcher.summary, (
                f"only {fetcher.summary.saved} of {wanted} new pictures"
                f" after {attempts} attempts{why}"
            )
        return fetcher.summary, None
    listed = [u.strip() for u in urls if u.strip() and not u.lstrip().startswith("#")]
    for each in listed:
        fetcher.fetch_one(each)
        on_progress(1)
    missing = len(fetcher.summary.failed) + sum(fetcher.summary.refused.values())
    if missing:
        return fetcher.summary, f"{missing} of {len(listed)} addresses gave no picture"
    return fetcher.summary, None
