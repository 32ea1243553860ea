"""The gallery in a real headless Chromium (Debian's), driven by Playwright,
against a real `datasette serve` process."""

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import ingest

from .conftest import rows

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).parent.parent / "build" / "screenshots"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(cats):
    """A real server as root: (base URL, login URL, database path)."""
    ingest(cats, workers=1)
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("datasette")),
            "serve",
            str(cats / "cats.db"),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "--root",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    login = None
    deadline = time.monotonic() + 30
    while login is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        found = re.search(r"(http://\S+/-/auth-token\?token=\w+)", line)
        login = found.group(1) if found else None
    base = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/-/versions.json", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    yield base, login, cats / "cats.db"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        browser.close()


def loaded_thumbnails(page) -> list[int]:
    """naturalWidth of every thumbnail, after scrolling so lazy ones load."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function(
        "[...document.querySelectorAll('img.cattags-thumb')].every(i => i.complete)", timeout=15000
    )
    return page.eval_on_selector_all("img.cattags-thumb", "imgs => imgs.map(i => i.naturalWidth)")


def test_gallery_thumbnails_load_and_a_facet_click_narrows_the_grid(served, page):
    base, _login, db = served
    page.goto(base + "/cats/images")
    widths = loaded_thumbnails(page)
    assert len(widths) == rows(db, "select count(*) from images")[0][0]
    assert all(w > 0 for w in widths)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / "gallery.png"), full_page=False)
    expected = rows(db, "select count(*) from image_tags where tag = 'ginger'")[0][0]
    page.click("text=ginger")
    page.wait_for_load_state()
    assert page.locator("figure.cattags-card").count() == expected < len(widths)


def test_moving_a_picture_through_the_page_as_root(served, page):
    base, login, db = served
    page.goto(login)  # signs in as root
    image_id, folder = rows(db, "select id, folder from images order by id limit 1")[0]
    page.goto(f"{base}/cats/images/{image_id}")
    assert page.locator("text=Nearest cats").count() == 1
    assert all(w > 0 for w in loaded_thumbnails(page))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / "row.png"), full_page=True)
    page.fill("input[name=folder]", "favourites/cosy")
    page.click("button.cattags-move")
    page.wait_for_load_state()
    assert "Moved 1 picture to favourites/cosy" in page.content()
    thumbs = db.parent / "thumbs"
    assert (thumbs / "favourites/cosy" / f"{image_id}_.png").exists()
    assert not (thumbs / folder / f"{image_id}_.png").exists()
    assert rows(db, "select folder from images where id = ?", [image_id]) == [("favourites/cosy",)]
