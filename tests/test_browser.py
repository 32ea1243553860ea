"""The gallery in a real headless Chromium (Debian's), driven by Playwright,
against a real `datasette serve` process. Screenshots go to build/screenshots/
(not committed): look at them."""

import json
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import ingest

from .conftest import rows

CHROMIUM = os.environ.get("CATTAGS_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).parent.parent / "build" / "screenshots"
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(db: Path, immutable: bool = False):
    """A real `datasette serve --root`: (base URL, one-time login URL)."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("datasette")),
            "serve",
            *(["-i", str(db)] if immutable else [str(db)]),
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
    try:
        yield base, login
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def served(cats):
    """A real server as root: (base URL, login URL, database path)."""
    ingest(cats, workers=1)
    with serving(cats / "cats.db") as (base, login):
        yield base, login, cats / "cats.db"


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
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
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    return browser.new_page(viewport=DESKTOP)


def shot(page, name: str, full: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def loaded_thumbnails(page) -> list[int]:
    """naturalWidth of every gallery thumbnail, after scrolling so lazy ones load."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function(
        "[...document.querySelectorAll('img.cattags-thumb')].every(i => i.complete)", timeout=15000
    )
    widths = page.eval_on_selector_all("img.cattags-thumb", "imgs => imgs.map(i => i.naturalWidth)")
    page.evaluate("window.scrollTo(0, 0)")
    return widths


FULLY_VISIBLE = """() => [...document.querySelectorAll('.cattags-grid img')].filter(i => {
  const r = i.getBoundingClientRect();
  return r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
}).length"""


def top_of(page, selector: str) -> float:
    """Where the first element matching selector starts, from the top of the page."""
    return page.evaluate(
        "s => document.querySelector(s).getBoundingClientRect().top + window.scrollY", selector
    )


def folder_of(db: Path, image_id: str) -> str:
    return rows(db, "select folder from images where id = ?", [image_id])[0][0]


def tags_of(db: Path, image_id: str) -> set[str]:
    return set(json.loads(rows(db, "select tags from images where id = ?", [image_id])[0][0]))


def test_pictures_come_first_on_a_desktop_and_on_a_phone(served, browser):
    base, _login, db = served
    desktop = browser.new_page(viewport=DESKTOP)
    desktop.goto(base + "/cats/images", wait_until="networkidle")
    widths = loaded_thumbnails(desktop)
    assert len(widths) == rows(db, "select count(*) from images")[0][0]
    assert all(w > 0 for w in widths)
    assert desktop.evaluate(FULLY_VISIBLE) >= 24  # (a)
    shot(desktop, "gallery-desktop")
    phone = browser.new_page(viewport=PHONE)
    phone.goto(base + "/cats/images", wait_until="networkidle")
    first_picture = top_of(phone, ".cattags-grid img")
    toggle = phone.locator(".cattags-facets-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"  # folded away on a phone
    toggle.click()
    assert first_picture < top_of(phone, ".cattags-facets-toggle") < top_of(phone, ".facet-info")
    assert first_picture < PHONE["height"]  # (b): above the fold too
    shot(phone, "gallery-phone")


def test_a_facet_click_narrows_the_grid(served, page):
    base, _login, db = served
    page.goto(base + "/cats/images", wait_until="networkidle")
    expected = rows(db, "select count(*) from image_tags where tag = 'ginger'")[0][0]
    page.click(".facet-info[data-column=tags] >> text=ginger")
    page.wait_for_load_state()
    assert page.locator(".cattags-cell").count() == expected
    assert "size" not in page.eval_on_selector_all(
        ".facet-info", "nodes => nodes.map(n => n.dataset.column)"
    )


def signed_in(page, login: str, url: str):
    page.goto(login)  # signs in as root
    page.goto(url, wait_until="networkidle")


def test_shift_click_selects_a_range_and_the_bar_counts_it(served, page):
    base, login, _db = served
    signed_in(page, login, base + "/cats/images")
    frames = page.locator(".cattags-frame")
    frames.nth(2).click()
    frames.nth(6).click(modifiers=["Shift"])
    assert page.locator(".cattags-check:checked").count() == 5  # (c)
    assert page.locator(".cattags-selected").inner_text() == "5 pictures selected"
    bar = page.locator(".cattags-bar").bounding_box()
    assert bar["y"] + bar["height"] <= DESKTOP["height"]  # the bar is in view
    shot(page, "selection")
    page.keyboard.press("Escape")
    assert page.locator(".cattags-check:checked").count() == 0


def test_dragging_a_selection_onto_a_folder_moves_it_without_a_reload(served, page):
    base, login, db = served
    signed_in(page, login, base + "/cats/images")
    page.evaluate("window.cattagsMarker = 1")  # gone if the page reloads
    page.fill("#cattags-new", "boxes/cardboard")
    page.click(".cattags-add")
    frames = page.locator(".cattags-frame")
    frames.nth(0).click()
    frames.nth(2).click(modifiers=["Shift"])
    ids = page.eval_on_selector_all(".cattags-check:checked", "boxes => boxes.map(b => b.value)")
    assert len(ids) == 3
    target = page.locator(".cattags-folder[data-folder='boxes/cardboard']")
    frames.nth(1).drag_to(target)
    page.wait_for_selector(".cattags-toast:has-text('Moved 3 pictures to boxes/cardboard')")
    thumbs = db.parent / "thumbs"
    for image_id in ids:  # (d)
        assert (thumbs / "boxes/cardboard" / f"{image_id}_.png").exists()
        assert folder_of(db, image_id) == "boxes/cardboard"
        chips = page.locator(f".cattags-cell[data-id='{image_id}'] .cattags-chip-folder")
        assert chips.inner_text() == "cardboard"
        assert chips.get_attribute("title") == "in boxes/cardboard"
    assert page.evaluate("window.cattagsMarker") == 1
    count = page.locator(".cattags-folder[data-folder='boxes/cardboard'] + .cattags-count")
    assert count.inner_text() == "3"
    shot(page, "folder-panel")


def test_undo_twice_reverses_the_two_latest_moves(served, page):
    base, login, db = served
    signed_in(page, login, base + "/cats/images")
    first, second = page.eval_on_selector_all(
        ".cattags-check", "boxes => boxes.slice(0, 2).map(b => b.value)"
    )
    before = {i: tags_of(db, i) for i in (first, second)}
    for image_id, folder in ((first, "sleeping"), (second, "garden/2024/pond")):
        page.check(f".cattags-check[value='{image_id}']", force=True)
        page.fill("input[name=folder]", folder)
        page.click("button.cattags-move")
        page.wait_for_function(
            f"document.querySelector(\".cattags-cell[data-id='{image_id}']\").dataset.folder"
            f" === '{folder}'"
        )
    assert folder_of(db, second) == "garden/2024/pond" and "pond" in tags_of(db, second)
    undo = page.locator("button.cattags-undo")
    undo.click()
    page.wait_for_function(
        f"document.querySelector(\".cattags-cell[data-id='{second}']\").dataset.folder === ''"
    )
    undo.click()
    page.wait_for_function(
        f"document.querySelector(\".cattags-cell[data-id='{first}']\").dataset.folder === ''"
    )
    thumbs = db.parent / "thumbs"
    for image_id in (first, second):  # (e)
        assert folder_of(db, image_id) == ""
        assert tags_of(db, image_id) == before[image_id]
        assert (thumbs / f"{image_id}_.png").exists()
    undo.click()
    page.wait_for_selector(".cattags-toast:has-text('Nothing to undo')")


def test_a_move_with_the_keyboard_only(served, page):
    base, login, db = served
    signed_in(page, login, base + "/cats/images")
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('cattags-check')"):
            break
    page.keyboard.press("ArrowRight")
    image_id = page.evaluate("document.activeElement.value")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "folder"
    page.keyboard.type("keyboard")
    page.keyboard.press("Enter")
    page.wait_for_selector(".cattags-toast:has-text('Moved 1 picture to keyboard')")
    assert folder_of(db, image_id) == "keyboard"  # (f)
    assert (db.parent / "thumbs" / "keyboard" / f"{image_id}_.png").exists()


def test_without_javascript_the_form_still_moves(served, browser):
    base, login, db = served
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    page = context.new_page()
    signed_in(page, login, base + "/cats/images")
    image_id = page.locator(".cattags-check").nth(3).get_attribute("value")
    page.locator(".cattags-frame").nth(3).click()
    page.fill("input[name=folder]", "no-script")
    page.click("button.cattags-move")
    page.wait_for_load_state()
    assert "Moved 1 picture to no-script" in page.content()  # (g)
    assert folder_of(db, image_id) == "no-script"
    page.fill("input[name=folder]", "../out")
    page.locator(".cattags-frame").nth(0).click()
    page.click("button.cattags-move")
    page.wait_for_load_state()
    assert "/cats/images" in page.url and "Invalid folder" in page.content()
    shot(page, "refused-without-javascript")
    context.close()


def test_the_picture_page_shows_the_original_large(served, page):
    base, login, db = served
    image_id = rows(db, "select id from images where cluster is not null order by id limit 1")[0][0]
    signed_in(page, login, f"{base}/cats/images/{image_id}")
    large = page.locator("img.cattags-original")
    page.wait_for_function("document.querySelector('img.cattags-original').complete")
    assert large.bounding_box()["width"] >= 256  # (h)
    assert page.evaluate("document.querySelector('img.cattags-original').naturalWidth") > 0
    assert page.locator(".cattags-nearest .cattags-cell").count() > 0
    assert page.locator(".cattags-strip h2:has-text('Near-duplicates')").count() == 1
    shot(page, "picture", full=True)
    page.fill("input[name=folder]", "favourites/cosy")
    page.click("button.cattags-move")
    page.wait_for_selector(".cattags-toast:has-text('Moved 1 picture')")
    assert page.locator(".cattags-here").inner_text() == "favourites/cosy"
    assert folder_of(db, image_id) == "favourites/cosy"


def test_an_immutable_copy_shows_the_thumbnail_enlarged(cats, browser):
    ingest(cats, workers=1)
    db = cats / "cats.db"
    image_id = rows(db, "select id from images order by id limit 1")[0][0]
    with serving(db, immutable=True) as (base, login):
        page = browser.new_page(viewport=DESKTOP)
        signed_in(page, login, f"{base}/cats/images/{image_id}")
        assert page.locator("img.cattags-original").count() == 0  # (h)
        upscaled = page.locator("img.cattags-upscaled")
        assert upscaled.bounding_box()["width"] >= 128
        assert "/-/cattags/thumb/" in upscaled.get_attribute("src")
        assert page.locator("input[name=folder]").count() == 0
        shot(page, "picture-immutable")


def test_the_review_page_marks_a_pair_and_moves_the_others(served, page):
    base, login, db = served
    signed_in(page, login, base + "/cats/-/cattags/duplicates")
    groups_before = page.locator("section.cattags-group").count()
    assert groups_before > 0
    shot(page, "duplicates", full=True)
    last = page.locator("section.cattags-group").last
    pair = (
        last.locator("input[name=image_a]").first.get_attribute("value"),
        last.locator("input[name=image_b]").first.get_attribute("value"),
    )
    last.locator("button[value=different]").first.click()
    page.wait_for_load_state()
    assert "Marked as not the same picture" in page.content()
    assert rows(db, "select image_a, image_b, decision from decisions") == [(*pair, "different")]
    first = page.locator("section.cattags-group").first
    keep = first.locator(".cattags-candidate").first
    others = first.locator(".cattags-candidate").count() - 1
    keep.locator("button").click()
    page.wait_for_load_state()
    assert f"Moved {others} picture" in page.content()
    moved = rows(db, "select count(*) from images where folder = 'duplicates'")[0][0]
    assert moved == others
