"""The coding workspace in a real browser: coding a text selection on the Documents page, a widened
span on the Review page that does not carry over to the next item (and undo), and a click on a
Co-occurrence heatmap cell that picks that cell's codes for the quotes below.

Same machinery as test_browser: Debian's chromium (/usr/bin/chromium) driven by Playwright, the app
on a free local port; skipped when either is missing outside CI.
"""

from __future__ import annotations

import contextlib
import time

from clhs_mechanisms import Project, import_paths

from .test_browser import CHROMIUM, FLAGS, _app_server, _idle, _requirements, _wait
from .test_coding_view import SELECT, _u16

CODER = "ana"
TRANSCRIPT = (  # one participant turn of two segments (the first holds three sentences)
    "Interviewer: Why did you join?\n"
    "P04: Someone helped us when my son was sick, so I give back now. I want other families to have it "
    "easier. We help where we can.\n"
    "The dashboard shows every centre at once. The registry form is quick.\n"
)


def _project(tmp_path, codebook, text: str, name: str = "p04.txt") -> Project:
    """A project holding one transcript ``text`` and the coder ``CODER``."""
    path = tmp_path / "files" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    project = Project.init(tmp_path / "proj", codebook)
    list(import_paths(project, [path]))
    project.coder_id(CODER)
    return project


@contextlib.contextmanager
def _page(project, tmp_path):
    """A browser page on the app for ``project``, on the Review page, coding as ``CODER``: chosen
    through the address (the sidebar takes a known coder from ``?coder=``). The app is opened at its
    root; other pages are reached through the sidebar's links (see ``_open``)."""
    from playwright.sync_api import sync_playwright

    with _app_server(project, tmp_path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{url}/?coder={CODER}")
            page.get_by_text("Coding as").wait_for(timeout=60_000)
            _idle(page)
            yield page
        except Exception:
            page.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
            raise
        finally:
            browser.close()


def _open(page, link: str, ready: str) -> None:
    """Go to another page through the sidebar and wait until its run is over."""
    page.get_by_role("link", name=link, exact=True).click()
    page.get_by_text(ready).first.wait_for(timeout=60_000)
    _idle(page)


# 1. Documents: select text in the coding view, code it


def test_code_a_selection_on_documents_page(tmp_path, mini_codebook):
    """A span selected inside a turn, given a code picked by its label, is stored with exactly that
    span and shows the code's label in the turn's margin."""
    _requirements()
    project = _project(tmp_path, mini_codebook, TRANSCRIPT)
    segs = project.segments(document="p04.txt")
    turn = segs[segs["codable"]]
    turn_no, turn_start = int(turn["turn"].iloc[0]), int(turn["start"].min())
    text = project.document_text("p04.txt")
    turn_text = text[turn_start : int(turn["end"].max())]
    wanted = "dashboard shows"
    at = turn_text.index(wanted)
    try:
        with _page(project, tmp_path) as page:
            _open(page, "Documents", "Nothing selected yet.")
            view = page.locator(".coding-view")  # Playwright's locators see into the shadow root
            view.locator(f".text[data-turn='{turn_no}']").wait_for(timeout=30_000)
            assert view.locator(".chip").count() == 0
            page.evaluate(SELECT, [turn_no, _u16(turn_text[:at]), _u16(turn_text[: at + len(wanted)])])
            page.get_by_test_id("stText").filter(has_text=wanted).wait_for(timeout=30_000)
            _idle(page)
            assert "".join(view.locator(".piece.selected").all_text_contents()) == wanted

            box = page.get_by_role("combobox", name="Code", exact=True)
            box.click()
            box.fill("Registry")  # searched by its label
            page.get_by_role("option", name="Registry (ppi_registry)").click()
            _idle(page)
            assert box.input_value() == "Registry (ppi_registry)"
            page.get_by_role("button", name="Code selection").click()  # waits until it is enabled
            _wait(lambda: len(project.codings()) == 1, 30)

            chip = view.locator(".chip:not(.suggested)")
            chip.first.wait_for(timeout=30_000)
            page.get_by_text("Nothing selected yet.").wait_for(timeout=30_000)  # the selection is done
            assert chip.locator(".label").all_inner_texts() == ["Registry"]
            assert chip.locator(".note").all_inner_texts() == [CODER]
            assert "".join(view.locator(".piece.coded").all_text_contents()) == wanted
    finally:
        codings = project.codings()
        project.close()
    assert len(codings) == 1
    coding = codings.iloc[0]
    assert (coding.document, coding.code, coding.coder) == ("p04.txt", "ppi_registry", CODER)
    assert (coding.start, coding.end) == (turn_start + at, turn_start + at + len(wanted))
    assert text[coding.start : coding.end] == wanted


# 2. Review: a widened span is the item's own; undo takes back the last decision


def test_widened_span_not_carried_over_and_undo(tmp_path, mini_codebook):
    """'+ next segment' chosen on one item widens that item's coding only: the next item starts at
    'this segment' again. Undo (key U) takes back the last decision and its coding, leaving the
    suggestion pending again and the earlier decision as it was."""
    _requirements()
    project = _project(tmp_path, mini_codebook, TRANSCRIPT)
    first, second = project.segments(codable_only=True).itertuples()
    assert first.end < second.start and "dashboard" in second.text
    project.add_suggestions(
        [  # most informative first: the first segment's suggestion sits nearer its threshold
            {"segment_id": first.id, "code": "mot_help", "score": 0.7, "components": {"threshold": 0.5}},
            {"segment_id": second.id, "code": "ppi_registry", "score": 0.9, "components": {"threshold": 0.5}},
        ],
        method="ensemble",
        model_version="test",
    )
    ids = project.suggestions().set_index("segment_id")["id"]
    try:
        with _page(project, tmp_path) as page:
            page.get_by_role("heading", name="Helping others (mot_help)").wait_for(timeout=60_000)
            span = page.get_by_role("radiogroup", name="Span")
            span.get_by_text("+ next segment").click()
            _idle(page)
            assert span.get_by_role("radio", name="+ next segment").is_checked()
            page.get_by_role("heading", name="Review suggestions").click()  # keys go to the page
            page.keyboard.press("A")
            page.get_by_role("heading", name="Registry (ppi_registry)").wait_for(timeout=30_000)
            _idle(page)
            assert len(project.decisions()) == 1
            # the next item: the span chosen on the first one is not carried over
            assert span.get_by_role("radio", name="this segment").is_checked()
            assert not span.get_by_role("radio", name="+ next segment").is_checked()
            page.get_by_role("button", name="Accept").click()
            page.get_by_text("No pending suggestions").wait_for(timeout=30_000)
            _idle(page)
            _wait(lambda: len(project.decisions()) == 2)
            codings = project.codings().set_index("code")
            decided = project.decisions().set_index("suggested")["action"].to_dict()

            page.get_by_role("heading", name="Review suggestions").click()
            page.keyboard.press("U")
            page.get_by_role("heading", name="Registry (ppi_registry)").wait_for(timeout=30_000)
            _idle(page)
            assert span.get_by_role("radio", name="this segment").is_checked()
            after_undo, pending, codings_after = project.decisions(), project.suggestions(), project.codings()
    finally:
        project.close()
    assert decided == {"mot_help": "edit", "ppi_registry": "accept"}  # a widened span is an edit
    assert (codings.loc["mot_help", "start"], codings.loc["mot_help", "end"]) == (first.start, second.end)
    assert (codings.loc["ppi_registry", "start"], codings.loc["ppi_registry", "end"]) == (
        second.start,
        second.end,
    )
    assert after_undo["suggestion_id"].tolist() == [ids[first.id]]
    assert pending["id"].tolist() == [ids[second.id]] and pending["status"].tolist() == ["pending"]
    assert codings_after[["code", "start", "end"]].values.tolist() == [["mot_help", first.start, second.end]]


# 3. Co-occurrence: a click on a heatmap cell picks its codes for the quotes


def _cell(chart, code_a: str, code_b: str):
    """The heatmap cell of ``code_a`` (row) and ``code_b`` (column). Vega draws each rect as an SVG
    path labelled (aria-label) with its tooltip's fields, the codes' ids among them."""
    cells = chart.locator("path[role='graphics-symbol'][aria-label*='id A: ']")
    cells.first.wait_for(timeout=30_000)
    cell = cells.and_(chart.locator(f"path[aria-label*='id A: {code_a};'][aria-label*='id B: {code_b};']"))
    assert cell.count() == 1, f"no heatmap cell for {code_a} x {code_b}"
    return cell, [c.bounding_box() for c in cells.all()]


def _settle(page, read, expected, seconds: float = 30):
    """Poll ``read()`` (something shown on the page) until it equals ``expected``; its last value."""
    deadline = time.time() + seconds
    while (value := read()) != expected and time.time() < deadline:
        page.wait_for_timeout(300)
    return value


def test_click_on_heatmap_cell_picks_its_codes(tmp_path, mini_codebook):
    """Three codes co-occurring with clearly different strengths: the quote pickers start on the
    strongest pair; a click on another cell of the heatmap puts that cell's codes in them and shows
    that pair's quotes."""
    _requirements()
    lines = []
    for i in range(8):
        lines += [f"Interviewer: Question {i}?", f"P02: Answer number {i} is here.", ""]
    project = _project(tmp_path, mini_codebook, "\n".join(lines), name="p02.txt")
    segs = list(project.segments(codable_only=True).itertuples())
    assert len(segs) == 8
    # jaccard (the default measure): help-registry 5/6, help-credit 2/8, credit-registry 1/8
    for code, units in (
        ("mot_help", range(0, 6)),
        ("ppi_registry", range(0, 5)),
        ("mot_credit", range(4, 8)),
    ):
        for i in units:
            project.add_coding("p02.txt", segs[i].start, segs[i].end, code, coder=CODER)
    try:
        with _page(project, tmp_path) as page:
            _open(page, "Co-occurrence", "Quotes behind a cell")
            code_a = page.get_by_role("combobox", name="Code A", exact=True)
            code_b = page.get_by_role("combobox", name="Code B", exact=True)
            quotes = page.get_by_test_id("stDataFrame").filter(has=page.locator("th", has_text="quotes_a"))
            grid = quotes.locator("table[role=grid]")  # the grid draws on a canvas; this is its a11y table
            grid.wait_for(state="attached", timeout=30_000)
            assert (code_a.input_value(), code_b.input_value()) == ("Helping others", "Registry")
            assert _settle(page, lambda: grid.get_attribute("aria-rowcount"), "6") == "6"  # 5 units + header

            # the cell "Credit and requirements" (row) x "Registry" (column): by the axes' order (the
            # codebook's: help, credit, registry), the middle row and the last column
            cell, boxes = _cell(page.get_by_test_id("stVegaLiteChart").first, "mot_credit", "ppi_registry")
            assert len(boxes) == 6 and "n12: 1" in cell.get_attribute("aria-label")
            box = cell.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            left, right = min(b["x"] for b in boxes), max(b["x"] + b["width"] for b in boxes)
            top, bottom = min(b["y"] for b in boxes), max(b["y"] + b["height"] for b in boxes)
            assert int(3 * (x - left) / (right - left)) == 2 and int(3 * (y - top) / (bottom - top)) == 1
            page.mouse.click(x, y)

            wanted = ("Credit and requirements", "Registry")
            assert _settle(page, lambda: (code_a.input_value(), code_b.input_value()), wanted) == wanted
            page.get_by_text("n1 = 4, n2 = 5, n12 = 1").wait_for(timeout=30_000)
            assert _settle(page, lambda: grid.get_attribute("aria-rowcount"), "2") == "2"
            texts = grid.locator("td").all_text_contents()
            assert "Answer number 4 is here." in texts
            assert not [t for t in texts if t.startswith("Answer number") and t != "Answer number 4 is here."]
    finally:
        project.close()
