"""The coding view (issue 16, item 3): offsets, colours, selections checked, and coding by selecting
text in a real browser (Debian's chromium through Playwright, as in test_browser)."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clhs_mechanisms.app.components.coding_view.model import (
    GREY,
    PALETTE,
    SelectionError,
    Turn,
    code_colours,
    colour,
    layout,
    resolve_selection,
    selection_fits,
    turns_from_segments,
    utf16_index,
)
from clhs_mechanisms.codebook import Code, Codebook, Domain

from .test_browser import CHROMIUM, FLAGS, _free_port, _requirements, serving

COMPONENT = Path(__file__).resolve().parents[1] / "clhs_mechanisms" / "app" / "components" / "coding_view"
PAYLOAD = "<img src=x onerror=alert(1)>"
TEXT = (  # an emoji and a mathematical letter: two UTF-16 units each, one character each in Python
    f"Interviewer: Why {PAYLOAD}?\n"
    "P01: I \U0001f600 give back \U0001d4b3 now. The registry form was easy.\nThe dashboard helps."
)
Q, P = TEXT.index("Why"), TEXT.index("I \U0001f600")
TURNS = [Turn(0, Q, TEXT[Q : TEXT.index("\n")], "Interviewer", False), Turn(1, P, TEXT[P:], "P01", True)]


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _codebook(n: int = 3) -> Codebook:
    domains = (Domain("mot", "Motivations", color="#4C78A8"), Domain("ppi", "Infra", color="#F58518"))
    codes = tuple(Code(f"c{i}", f"Code {i}", "mot" if i % 2 else "ppi", "A definition.") for i in range(n))
    return Codebook(id="t", title="T", version="1", domains=domains, codes=codes)


# offsets: the browser counts UTF-16 units, Python code points


def test_utf16_index_counts_astral_characters_as_one():
    text = "a\U0001f600b"
    assert [utf16_index(text, u) for u in (0, 1, 3, 4)] == [0, 1, 2, 3]
    assert utf16_index(text, 2) == 1 and utf16_index(text, 2, round_up=True) == 2  # inside the pair
    for bad in (-1, 5):
        with pytest.raises(ValueError):
            utf16_index(text, bad)


@given(st.text())
def test_utf16_index_inverts_utf16_length(text):
    assert [utf16_index(text, _u16(text[:i])) for i in range(len(text) + 1)] == list(range(len(text) + 1))


# colours: one per code, 35 codes apart


def _lab(hex_colour: str) -> tuple[float, float, float]:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    xyz = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
    )
    fx, fy, fz = (t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def test_palette_separates_35_codes():
    colours = code_colours(_codebook(35))
    assert len(set(colours.values())) == 35 and all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in PALETTE)
    labs = [_lab(c) for c in colours.values()]
    assert min(math.dist(a, b) for a, b in itertools.combinations(labs, 2)) >= 25  # CIE76: clearly apart
    assert all(35 <= lab[0] <= 76 for lab in labs)  # neither too pale to see nor too dark to read over
    assert code_colours(_codebook(35)) == colours  # the same code, the same colour


def test_colour_accepts_hex_only():
    assert colour("#ABC") == "#aabbcc" and colour("#4C78A8") == "#4c78a8"
    assert {colour(v) for v in (None, "", "red", "#12345g", "url(x)", "#fff;background:red")} == {GREY}


# selections checked in Python


def _event(turn: int, start: int, end: int) -> dict:
    return {"parts": [{"turn": turn, "start": start, "end": end}]}


def test_selection_after_emoji_has_code_point_offsets():
    text = TURNS[1].text
    start, end = text.index("give"), text.index("dashboard") + len("dashboard")
    sel = resolve_selection(_event(1, _u16(text[:start]), _u16(text[:end])), TURNS)
    assert sel == {"turn": 1, "start": P + start, "end": P + end, "text": TEXT[P + start : P + end]}
    assert sel["text"].startswith("give back \U0001d4b3") and sel["text"].endswith("The dashboard")
    assert selection_fits(sel, TURNS)
    assert not selection_fits(sel, [TURNS[0], Turn(1, P, TEXT[P:].upper())])


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (_event(1, 5, 5), "zero characters"),
        ({"parts": [{"turn": 0, "start": 3, "end": 9}, {"turn": 1, "start": 0, "end": 4}]}, "across 2 turns"),
        (_event(1, 1, 2), "only spaces"),
        (_event(0, 0, 3), "not coded"),
        (_event(7, 0, 3), "does not match"),
        ({"parts": [{"turn": [1], "start": 0, "end": 3}]}, "does not match"),
        (_event(1, 0, 10_000), "does not match"),
        (_event(1, True, 3), "does not match"),
        (_event(1, "0", 3), "does not match"),
        ({"parts": []}, "Nothing is selected"),
        ({"parts": ["x"]}, "does not match"),
        (None, "Nothing is selected"),
    ],
)
def test_bad_selection_is_a_clear_message(event, message):
    with pytest.raises(SelectionError, match=message):
        resolve_selection(event, TURNS)


# the layout sent to the browser


def test_turns_from_segments_span_their_segments():
    text = "Interviewer: Hi.\nP01: One. Two.\n"
    segs = pd.DataFrame(
        {
            "turn": [0, 1, 1],
            "start": [13, 22, 27],
            "end": [16, 26, 31],
            "speaker": ["Interviewer", "P01", "P01"],
            "codable": [False, True, True],
        }
    )
    assert turns_from_segments(segs, text) == [
        Turn(0, 13, "Hi.", "Interviewer", False),
        Turn(1, 22, "One. Two.", "P01", True),
    ]


def test_layout_cuts_turns_at_overlapping_codings_and_the_selection():
    cb = _codebook()
    text = TURNS[1].text
    g = P + text.index("give")
    codings = pd.DataFrame(
        [
            {"start": g, "end": g + 9, "code": "c1", "coder": "ana"},
            {"start": g + 5, "end": g + 20, "code": "c2", "coder": "ben"},
            {"start": 0, "end": 3, "code": "c0", "coder": "ana"},  # outside both turns
        ]
    )
    suggestions = pd.DataFrame([{"start": P, "end": len(TEXT), "code": "c0", "score": 0.61}])
    selection = {"turn": 1, "start": g, "end": g + 4, "text": "give"}
    data = layout(TURNS, cb, codings, suggestions, selection)
    turn = data["turns"][1]
    assert "".join(p["text"] for p in turn["pieces"]) == text
    pieces = {p["text"]: p for p in turn["pieces"]}
    assert pieces["give"]["selected"] and pieces["give"]["marks"] == [0, 3]
    assert pieces["back"]["marks"] == [0, 1, 3] and not pieces["back"]["selected"]
    assert [data["marks"][i]["label"] for i in turn["marks"]] == ["Code 0", "Code 1", "Code 2"]
    assert [d["label"] for d in turn["domains"]] == ["Infra", "Motivations"]
    suggested = data["marks"][3]
    assert suggested["suggested"] and suggested["note"] == "suggested 0.61"
    first = data["marks"][0]
    assert first["colour"] == code_colours(cb)["c1"] and first["domain_colour"] == "#4c78a8"
    assert data["turns"][0]["marks"] == []
    assert [p["text"] for p in data["turns"][0]["pieces"]] == [TURNS[0].text]
    assert len(layout(TURNS, cb, codings)["marks"]) == 3  # suggestions hidden


def test_browser_code_never_parses_strings_as_html():
    js = (COMPONENT / "main.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("):
        assert sink not in js


# in a real browser

SCRIPT = """
import json

import pandas as pd
import streamlit as st

from clhs_mechanisms import load_codebook
from clhs_mechanisms.app.components.coding_view import Turn, coding_view

codebook = load_codebook({codebook!r})
turns = [Turn(*t) for t in {turns!r}]
codings = pd.DataFrame({codings!r})
suggestions = pd.DataFrame({suggestions!r})
show = st.toggle("Show suggestions", value=True)
value = coding_view(turns, codings, codebook, suggestions=suggestions, show_suggestions=show, key="view")
st.text("VALUE=" + json.dumps(value))
"""

SELECT = """([turn, start, end]) => {
  const host = [...document.querySelectorAll("*")].find((e) => e.shadowRoot?.querySelector(".coding-view"));
  const view = host.shadowRoot.querySelector(".coding-view");
  const text = view.querySelector(`.text[data-turn="${turn}"]`);
  const point = (units) => {
    const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
    for (let node, pos = 0; (node = walker.nextNode()); pos += node.length) {
      if (pos + node.length >= units) return [node, units - pos];
    }
  };
  const [a, b] = [point(start), point(end)];
  text.dispatchEvent(new MouseEvent("mousedown", { bubbles: true, composed: true }));
  window.getSelection().setBaseAndExtent(a[0], a[1], b[0], b[1]);
  document.dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
}"""


WORD = """([turn, word]) => {  // where a word of a turn is on the screen
  const host = [...document.querySelectorAll("*")].find((e) => e.shadowRoot?.querySelector(".coding-view"));
  const text = host.shadowRoot.querySelector(`.text[data-turn="${turn}"]`);
  const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode()); ) {
    const at = node.data.indexOf(word);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + word.length);
    const r = range.getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height };
  }
}"""


@contextlib.contextmanager
def _served(script: Path):
    """``streamlit run script`` on a free local port, until the block ends."""
    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", "127.0.0.1"]
    command += [
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    with serving(command, port, script.parent, start_within=30) as url:
        yield url


@pytest.fixture()
def view_url(tmp_path, mini_codebook_path):
    _requirements()
    codebook = mini_codebook_path.read_text(encoding="utf-8").replace(
        "label: Helping others", f'label: "Helping others {PAYLOAD}"'
    )
    (tmp_path / "codebook.yaml").write_text(codebook, encoding="utf-8")
    g = TEXT.index("give")
    script = tmp_path / "view.py"
    script.write_text(
        SCRIPT.format(
            codebook=str(tmp_path / "codebook.yaml"),
            turns=[(t.turn, t.start, t.text, t.speaker, t.codable) for t in TURNS],
            codings=[
                {"start": g, "end": g + 9, "code": "mot_help", "coder": "ana"},
                {"start": g + 5, "end": TEXT.index("form"), "code": "ppi_registry", "coder": "ben"},
            ],
            suggestions=[{"start": P, "end": len(TEXT), "code": "mot_credit", "score": 0.61}],
        ),
        encoding="utf-8",
    )
    with _served(script) as url:
        yield url


def test_select_text_in_browser_returns_code_point_span(view_url):
    """Bad selections (a click, a drag across turns) give a message and no value; a selection after
    emoji, across the turn's two lines, arrives in Python with code-point offsets and stays shown."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    dialogs: list[str] = []

    def guard(route) -> None:
        if route.request.url.startswith(view_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page()
        page.route("**/*", guard)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            page.goto(view_url)
            page.get_by_text("VALUE=null").wait_for(timeout=30_000)
            view = page.locator(".coding-view")  # Playwright's locators see into the shadow root
            view.locator(".chip").first.wait_for(timeout=10_000)
            assert view.locator("img").count() == 0
            assert PAYLOAD in view.locator(".text[data-turn='0']").inner_text()
            assert view.locator(".chip .label").all_inner_texts().count(f"Helping others {PAYLOAD}") == 1
            assert view.locator(".chip.suggested").count() == 1

            view.locator(".text[data-turn='1']").get_by_text("dashboard").click()  # zero characters
            page.get_by_text("Nothing is selected (zero characters)").wait_for(timeout=10_000)
            first = view.locator(".text[data-turn='0']").bounding_box()
            second = view.locator(".text[data-turn='1']").bounding_box()
            page.mouse.move(first["x"] + 5, first["y"] + first["height"] / 2)
            page.mouse.down()
            page.mouse.move(second["x"] + 60, second["y"] + 10, steps=5)
            page.mouse.up()
            page.get_by_text("The selection runs across 2 turns").wait_for(timeout=10_000)
            assert page.get_by_text("VALUE=null").is_visible()

            box = page.evaluate(WORD, [1, "dashboard"])
            page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.get_by_text(re.compile(r"^VALUE=\{.*dashboard")).wait_for(timeout=10_000)
            assert not page.get_by_text("zero characters").is_visible()  # the double-click's first click

            text = TURNS[1].text
            start, end = text.index("\U0001d4b3"), text.index("dashboard") + len("dashboard")
            page.evaluate(SELECT, [1, _u16(text[:start]), _u16(text[:end])])
            value = {"turn": 1, "start": P + start, "end": P + end, "text": TEXT[P + start : P + end]}
            page.get_by_text("VALUE=" + json.dumps(value)).wait_for(timeout=10_000)
            assert "".join(view.locator(".piece.selected").all_text_contents()) == value["text"]

            page.get_by_text("Show suggestions").click()  # hidden; the selection stays
            view.locator(".chip.suggested").first.wait_for(state="detached", timeout=10_000)
            assert page.get_by_text("VALUE=" + json.dumps(value)).is_visible()
        finally:
            browser.close()
    assert outside == [] and dialogs == []
