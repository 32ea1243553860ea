"""The gallery in a real headless Chromium (Debian's), driven by Playwright,
against a real `datasette serve` process. Screenshots go to build/screenshots/
(not committed): look at them."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image

from ingest.library import open_database
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
def serving(db: Path, immutable: bool = False, settings: dict | None = None):
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
            *(part for k, v in (settings or {}).items() for part in ("--setting", k, str(v))),
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
    assert page.locator(".cattags-selected").inner_text() == "5 selected"
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


def test_the_review_page_keeps_a_file_marks_a_pair_and_moves_the_others(served, page):
    base, login, db = served
    signed_in(page, login, base + "/cats/-/cattags/duplicates")
    groups_before = page.locator("section.cattags-group").count()
    assert groups_before > 0
    shot(page, "duplicates", full=True)
    last = page.locator("section.cattags-group:has(input[name=image_a])").last
    pair = (
        last.locator("input[name=image_a]").first.get_attribute("value"),
        last.locator("input[name=image_b]").first.get_attribute("value"),
    )
    last.locator("button[value=different]").first.click()
    page.wait_for_load_state()
    assert "Marked as not the same picture" in page.content()
    assert rows(db, "select image_a, image_b, decision from decisions") == [(*pair, "different")]
    near = page.locator("section.cattags-group:has(input[name=image_a])").first
    path = near.locator("input[name=path]").first.get_attribute("value")
    near.locator("button:has-text('Keep this file')").first.click()
    page.wait_for_load_state()
    assert f"Keeping {path}" in page.content()
    assert rows(db, "select path from kept_files") == [(path,)]
    near = page.locator("section.cattags-group:has(.cattags-kept)")
    assert near.locator(".cattags-redundant").count() == near.locator("li").count() - 1
    others = near.locator(".cattags-set-aside input[name=image_id]").count()
    near.locator(".cattags-set-aside button").click()
    page.wait_for_load_state()
    assert f"Moved {others} picture" in page.content()
    moved = rows(db, "select count(*) from images where folder = 'duplicates'")[0][0]
    assert moved == others


def test_a_set_of_three_files_of_one_picture_on_desktop_and_phone(cats, browser):
    """Byte copies and a PNG of one picture: one card a file, each saying how it differs."""
    ingest(cats, workers=1)
    db = cats / "cats.db"
    alone = rows(
        db,
        "select min(f.path) from files f join images i on i.id = f.image_id"
        " where i.cluster is null and i.format = 'JPEG' group by i.id having count(*) = 1",
    )
    original = cats / alone[0][0]
    (cats / "backup").mkdir()
    shutil.copyfile(original, cats / "backup" / original.name)
    Image.open(original).save(cats / "backup" / (original.stem + ".png"))
    ingest(cats, workers=1)
    with serving(db) as (base, login):
        page = browser.new_page(viewport=DESKTOP)
        signed_in(page, login, base + "/cats/-/cattags/duplicates")
        for viewport, name in ((DESKTOP, "duplicates-three-files"), (PHONE, "duplicates-phone")):
            page.set_viewport_size(viewport)
            page.reload()
            three = page.locator(
                f"section.cattags-group:has(code:text-is('backup/{original.stem}.png'))"
            )
            assert three.locator(".cattags-candidate").count() == 3
            assert three.locator("button:has-text('Keep this file')").count() == 3
            assert "one picture" in three.locator("h2").inner_text()
            differs = three.locator(".cattags-differs").all_inner_texts()
            assert len(differs) == 2
            assert any(text.startswith("The same bytes as") for text in differs)
            assert any("format (PNG, not JPEG)" in text for text in differs)
            three.scroll_into_view_if_needed()
            cards = [c.bounding_box() for c in three.locator(".cattags-candidate").all()]
            assert all(c["x"] + c["width"] <= viewport["width"] for c in cards)  # nothing cut off
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{name}.png"), clip=three.bounding_box())
        page.close()


KINDS = ("tabby", "black", "ginger", "grey", "calico")  # the demo's kinds of cat


@pytest.fixture
def unsorted(tmp_path, request):
    """The demo (`make demo`: 200 pictures) flat in unsorted/, ingested with
    the classic looks or those a parametrised test asks for; (database, each
    picture's kind by its id)."""
    from ingest.demo import write_demo_pictures

    drawn = tmp_path / "drawn"
    source = tmp_path / "cats"
    kind_of_file = {}
    for path in write_demo_pictures(drawn, count=200):
        kind = next(part for part in path.relative_to(drawn).parts if part in KINDS)
        target = source / "unsorted" / path.name
        assert not target.exists()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        kind_of_file[f"unsorted/{path.name}"] = kind
    ingest(source, workers=1, looks=getattr(request, "param", None))
    db = source / "cats.db"
    kinds = {}
    for path, image_id in rows(db, "select path, image_id from files"):
        assert kinds.setdefault(image_id, kind_of_file[path]) == kind_of_file[path]
    return db, kinds


class Actions:
    """A person's actions, counted: a click, a key press, a typed folder name."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def click(self, locator):
        locator.click()
        self.count += 1

    def press(self, key):
        self.page.keyboard.press(key)
        self.count += 1

    def type_into(self, locator, text):
        locator.fill(text)
        self.count += 1


@contextmanager
def as_root(browser, db: Path, path: str, settings: dict | None = None):
    """A real server as root and a signed-in desktop page at `path`: (page, base URL)."""
    with serving(db, settings=settings) as (base, login):
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        signed_in(page, login, base + path)
        try:
            yield page, base
        finally:
            context.close()


def settled(page, text):
    page.wait_for_selector(f".cattags-toast:has-text('{text}')")
    page.evaluate("document.querySelector('.cattags-toast').hidden = true")


@pytest.mark.parametrize("unsorted", ["classic", "efficientnet"], indirect=True)
def test_two_hundred_unsorted_cats_sorted_into_their_kinds_in_25_actions(
    unsorted, browser, request
):
    db, kinds = unsorted
    looks = request.node.callspec.params["unsorted"]
    named = "" if looks == "classic" else f"-{looks}"  # the README shows the classic run
    with as_root(browser, db, "/cats/images") as (page, _base):
        shot(page, f"classify-start-desktop{named}")
        person = Actions(page)
        # The panel's look-alike groups: each strip shows what its group looks
        # like; the person names the kind they see and moves the whole group.
        groups = page.locator(".cattags-looks li")
        assert 2 <= groups.count() <= 20
        for n in range(groups.count()):
            strip = (
                groups.nth(n)
                .locator("img")
                .evaluate_all(
                    "imgs => imgs.map(i => decodeURIComponent(i.src.split('/thumb/')[1].split('.png')[0]))"
                )
            )
            seen = max(KINDS, key=[kinds[i] for i in strip].count)
            person.click(groups.nth(n).locator(".cattags-pick-group"))
            settled(page, "Selected")
            if n == 3:  # for the README: a group selected, folders with their keys
                shot(page, f"classify-selected-desktop{named}")
            key = page.locator(f".cattags-folder[data-folder='{seen}']").locator("xpath=..")
            if key.locator(".cattags-key").count():
                person.press(key.locator(".cattags-key").inner_text())
            else:
                person.type_into(page.locator("input[name=folder]"), seen)
                person.press("Enter")
            settled(page, "Moved")
        shot(page, f"classify-keys-desktop{named}")
        # Then each folder once: the strays a person sees there, to their kind.
        for kind in KINDS:
            here = [i for (i,) in rows(db, "select id from images where folder = ?", [kind])]
            strays = [i for i in here if kinds[i] != kind]
            if not strays:
                continue
            person.click(page.locator(f".cattags-folder[data-folder='{kind}']"))
            page.wait_for_load_state("networkidle")
            for belongs in sorted({kinds[i] for i in strays}):
                for image_id in strays:
                    if kinds[image_id] == belongs:
                        person.click(
                            page.locator(f".cattags-cell[data-id='{image_id}'] .cattags-frame")
                        )
                key = page.locator(f".cattags-folder[data-folder='{belongs}']").locator("xpath=..")
                person.press(key.locator(".cattags-key").inner_text())
                settled(page, "Moved")
        assert person.count <= 25, person.count
        thumbs = db.parent / "thumbs"
        for image_id, kind in kinds.items():
            assert folder_of(db, image_id) == kind
            assert (thumbs / kind / f"{image_id}_.png").is_file()
            # Its folder's tag, no folder it has left (unsorted/ is where the
            # original file is: a source tag, and true).
            assert tags_of(db, image_id) & set(KINDS) == {kind}
        assert not list((thumbs / "unsorted").glob("*.png"))
        print(f"sorted {len(kinds)} pictures in {person.count} actions with {looks} looks")


@pytest.mark.parametrize("unsorted", ["classic", "efficientnet"], indirect=True)
def test_select_similar_folder_keys_and_the_phone_sheet(unsorted, browser, request):
    db, _kinds = unsorted
    looks = request.node.callspec.params["unsorted"]
    named = "" if looks == "classic" else f"-{looks}"
    with as_root(browser, db, "/cats/images?_sort=look_order") as (page, base):
        bar = page.locator(".cattags-bar").bounding_box()
        assert bar["height"] <= 60, bar
        # Select similar: the picture clicked and its 9 most alike (k = 10).
        page.locator(".cattags-frame").nth(3).click()
        seed = page.locator(".cattags-check").nth(3).get_attribute("value")
        page.select_option(".cattags-similar-k", "10")
        page.click("[data-cattags-action=select-similar]")
        settled(page, "look alike")
        alike = (
            open_database(db)
            .execute(
                "select i.id from json_each(looks_like(?, 9)) h join images i"
                " on i.rowid = json_extract(h.value, '$[0]')",
                [seed],
            )
            .fetchall()
        )
        picked = page.eval_on_selector_all(
            ".cattags-check:checked", "boxes => boxes.map(b => b.value)"
        )
        assert set(picked) == {seed, *(i for (i,) in alike)}
        assert page.locator(".cattags-selected").inner_text() == "10 selected"
        shot(page, f"select-similar-desktop{named}")
        # A first move gives the folder key 1; then key 1 moves the next picture.
        page.fill("input[name=folder]", "alike")
        page.keyboard.press("Enter")
        settled(page, "Moved 10 pictures to alike")
        assert (
            page.locator(".cattags-folder[data-folder='alike'] >> xpath=..")
            .locator(".cattags-key")
            .inner_text()
            == "1"
        )
        other = page.locator(".cattags-cell[data-folder=''] .cattags-check").nth(20)
        other_id = other.get_attribute("value")
        other.locator("xpath=following-sibling::label").click()
        page.keyboard.press("1")
        settled(page, "Moved 1 picture to alike")
        assert folder_of(db, other_id) == "alike"
        # The panel stays in view while the grid scrolls.
        page.mouse.wheel(0, 700)
        page.wait_for_function("window.scrollY > 600")
        assert 0 <= page.locator(".cattags-side").bounding_box()["y"] <= 20
        shot(page, "folder-keys-desktop")
        page.locator(".cattags-side").screenshot(path=str(SHOTS / "look-facet-desktop.png"))
        # A phone: the bar fits, and "Move to..." is a sheet of folders.
        page.set_viewport_size(PHONE)
        page.goto(base + "/cats/images?_sort=look_order", wait_until="networkidle")
        shot(page, "order-phone")
        page.locator(".cattags-frame").nth(1).click()
        page.click("[data-cattags-action=select-similar]")
        settled(page, "look alike")
        bar = page.locator(".cattags-bar").bounding_box()
        assert bar["height"] <= 100, bar
        shot(page, f"select-similar-phone{named}")
        picked = page.eval_on_selector_all(
            ".cattags-check:checked", "boxes => boxes.map(b => b.value)"
        )
        page.click(".cattags-sheet-open")
        sheet = page.locator(".cattags-sheet")
        assert sheet.is_visible()
        assert sheet.locator(".cattags-sheet-folder").first.inner_text().strip() == "1alike"
        shot(page, "move-sheet-phone")
        sheet.locator(".cattags-sheet-folder").first.click()
        settled(page, "Moved")
        assert all(folder_of(db, i) == "alike" for i in picked)
        page.locator(".cattags-side").screenshot(path=str(SHOTS / "look-facet-phone.png"))


def test_select_all_pages_through_every_match_and_refuses_beyond_the_bound(unsorted, browser):
    db, kinds = unsorted
    # 50 rows a JSON page: selecting all 190 takes four of them.
    with as_root(browser, db, "/cats/images", {"max_returned_rows": 50}) as (page, _base):
        assert page.locator(".cattags-cell").count() == 50
        page.click("[data-cattags-action=select-matching]")
        settled(page, "Selected all 190 that match")
        assert page.locator(".cattags-selected").inner_text() == "190 selected"
        page.fill("input[name=folder]", "everything")
        page.keyboard.press("Enter")
        settled(page, "Moved 190 pictures to everything")
        assert rows(db, "select count(*) from images where folder = 'everything'") == [(190,)]
        assert rows(db, "select count(distinct batch) from moves") == [(1,)]  # one undo
        page.click(".cattags-undo")
        settled(page, "Put 190 pictures back")
        assert rows(db, "select count(*) from images where folder = ''") == [(190,)]
        # Beyond the bound: refused with a message, nothing selected, whether
        # the page knows the count (no request) or not (pages read up to it).
        asked = []
        page.on("request", lambda r: asked.append(r.url) if ".json" in r.url else None)
        for count in ("190", ""):
            page.reload(wait_until="networkidle")
            asked.clear()
            page.evaluate(
                "c => { const b = document.querySelector('[data-cattags-action=select-matching]');"
                " b.setAttribute('data-most', '100'); b.setAttribute('data-count', c); }",
                count,
            )
            page.click("[data-cattags-action=select-matching]")
            expected = "190 pictures match" if count else "More than 100 pictures match"
            settled(page, expected)
            assert page.locator(".cattags-selected").inner_text() == "Tick pictures, then move them"
            assert len(asked) == (0 if count else 3), asked  # 3 x 50 rows: 101 ids seen
