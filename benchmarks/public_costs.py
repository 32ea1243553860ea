"""What one anonymous visitor can cost a server that publishes a library.

Three figures, each against a named bound measured or set in the same run:

1. SQL: the worst queries built around nearest_images() against a library
   of 300,000 pictures that share one whash, on a real `datasette serve`
   (read-only, as published), timed against its sql_time_limit_ms (1,000 ms,
   Datasette's default). Also: the size of one call's answer.
2. Originals: the server's peak memory (VmHWM) while 16 slow clients read a
   50 MB original at once, against what reading the file whole for each
   would hold (16 x 50 MB).
3. Metadata: what ingest stores of a 64x48 PNG carrying a 50 MB XMP packet
   (thumbnail, images.xmp, database file), against the packet's size.

Usage: python benchmarks/public_costs.py [--ties 300000] [--only sql|originals|xmp]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from ingest.library import open_database
from ingest.pipeline import ingest

TIED = "00000000000000ff"
LIMIT_MS = 1000  # Datasette's default sql_time_limit_ms
CLIENTS = 16
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(db: Path, immutable: bool) -> tuple[subprocess.Popen, str]:
    """A real `datasette serve` of one database, and its base URL."""
    port = free_port()
    flag = "-i" if immutable else ""
    args = [sys.executable, "-m", "datasette", "serve", *([flag] if flag else []), str(db)]
    process = subprocess.Popen(
        [*args, "--port", str(port), "--setting", "sql_time_limit_ms", str(LIMIT_MS)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base}/-/versions.json", timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("datasette serve did not start")


def tied_library(path: Path, count: int) -> None:
    db = open_database(path)
    rows = ((f"{n}x1_{TIED}", n, f"{n}x1", TIED, 0xFF) for n in range(1, count + 1))
    db.conn.executemany(
        "insert into images (id, width, height, size, whash, whash_int) values (?, ?, 1, ?, ?, ?)",
        rows,
    )
    db.conn.commit()
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def sql_figures(scratch: Path, ties: int) -> None:
    db = scratch / "tied.db"
    tied_library(db, ties)
    process, base = serve(db, immutable=True)
    name = db.stem
    one_row = ", ".join(f"length(nearest_images('{TIED}', {n}))" for n in range(1, 251))
    # As many calls as a request line carries (uvicorn reads ~16 KB of it).
    widest = ",".join("length(nearest_images(:h,999))" for _ in range(450))
    queries = {
        "one call, k=1": f"select nearest_images('{TIED}', 1)",
        "250 calls in one row": f"select {one_row}",
        "450 calls in one row, k=999": f"select {widest}",
        "100,000 calls over a CTE": "with recursive n(i) as (select 1 union all select i + 1"
        f" from n limit 100000) select count(nearest_images('{TIED}', 1000)) from n",
    }
    try:
        httpx.get(f"{base}/{name}.json", params={"sql": "select 1"}, timeout=60)  # warm up
        print(f"1. SQL on {ties:,} tied pictures; bound: sql_time_limit_ms = {LIMIT_MS} ms")
        print(f"   {'query':<28}{'status':>7}{'ms':>9}{'x limit':>9}{'bytes':>12}")
        for label, sql in queries.items():
            times = []
            for _ in range(3):
                start = time.perf_counter()
                answer = httpx.get(
                    f"{base}/{name}.json",
                    params={"sql": sql, "h": TIED, "_shape": "array"},
                    timeout=600,
                )
                times.append((time.perf_counter() - start) * 1000)
            ms = sorted(times)[1]
            print(
                f"   {label:<28}{answer.status_code:>7}{ms:>9.0f}{ms / LIMIT_MS:>9.2f}"
                f"{len(answer.content):>12,}"
            )
    finally:
        process.terminate()
        process.wait()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def current_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def slow_reader(url: str, seconds: float, got: list[int]) -> None:
    """Read an answer 64 KB at a time, 20 times a second, for `seconds`."""
    parts = urlsplit(url)
    host, port, path = parts.hostname, parts.port, parts.path
    with socket.create_connection((host, port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        end, total = time.monotonic() + seconds, 0
        sock.settimeout(seconds + 15)
        while time.monotonic() < end:
            data = sock.recv(64 * 1024)
            if not data:
                break
            total += len(data)
            time.sleep(0.05)
        got.append(total)


def original_figures(scratch: Path) -> None:
    source = scratch / "big"
    source.mkdir()
    side = 4096
    noise = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    noise.save(source / "noise.png", compress_level=0)
    size = (source / "noise.png").stat().st_size
    ingest(source, workers=2)
    image_id = open_database(source / "big.db").execute("select id from images").fetchone()[0]
    process, base = serve(source / "big.db", immutable=False)
    try:
        url = f"{base}/big/-/cattags/original/{image_id}"
        idle = current_rss_mb(process.pid)
        got: list[int] = []
        readers = [threading.Thread(target=slow_reader, args=(url, 6, got)) for _ in range(CLIENTS)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        peak = peak_rss_mb(process.pid)
        whole = CLIENTS * size / MB
        print(f"2. {CLIENTS} slow clients reading a {size / MB:.0f} MB original for 6 s")
        print(f"   server idle {idle:.0f} MB, peak {peak:.0f} MB: grew {peak - idle:.0f} MB")
        print(
            f"   bound: {CLIENTS} x the file, {whole:.0f} MB held by whole-file reads;"
            f" ratio {(peak - idle) / whole:.3f}"
        )
        print(f"   clients that got bytes: {sum(1 for g in got if g > 1000)} of {CLIENTS}")
    finally:
        process.terminate()
        process.wait()


def xmp_figures(scratch: Path) -> None:
    source = scratch / "meta"
    source.mkdir()
    packet = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
        ' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"><rdf:Description>'
        f"<dc:description>{'cat ' * (50 * MB // 4)}</dc:description>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet)
    Image.new("RGB", (64, 48), "orange").save(source / "meta.png", pnginfo=info)
    ingest(source, workers=1)
    db = open_database(source / "meta.db")
    thumb, kept = db.execute(
        "select length(png), length(xmp) from thumbnails join images on id = image_id"
    ).fetchone()
    db.close()
    stored = (source / "meta.db").stat().st_size
    print(f"3. a 64x48 PNG with a {len(packet) / MB:.0f} MB XMP packet")
    print(f"   thumbnail {thumb:,} bytes, images.xmp {kept:,} bytes, database {stored / MB:.2f} MB")
    print(f"   bound: the packet, {len(packet):,} bytes; ratio {stored / len(packet):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ties", type=int, default=300_000)
    parser.add_argument("--only", choices=["sql", "originals", "xmp"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        if args.only in (None, "sql"):
            sql_figures(Path(scratch), args.ties)
        if args.only in (None, "originals"):
            original_figures(Path(scratch))
        if args.only in (None, "xmp"):
            xmp_figures(Path(scratch))


if __name__ == "__main__":
    main()
