"""The critical path in a real browser: start the app, accept a suggestion, find the decision in the store.

Needs Debian's chromium (/usr/bin/chromium) and the Playwright Python package; `.ci/run`
installs both. Outside CI the test is skipped when either is missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from clhs_mechanisms import Project, import_paths
from clhs_mechanisms.cli.app import app_command

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _requirements() -> None:
    missing = []
    if not shutil.which(CHROMIUM):
        missing.append(CHROMIUM)
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test needs {', '.join(missing)} (.ci/run installs them)")
        pytest.skip(f"needs {', '.join(missing)}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_suggestion(tmp_path, mini_codebook, transcript_file) -> Project:
    """A project with the transcript and one pending suggestion (mot_help) on its first codable segment."""
    _requirements()
    project = Project.init(tmp_path / "proj", mini_codebook)
    list(import_paths(project, [transcript_file]))
    seg = project.segments(codable_only=True).iloc[0]
    project.add_suggestions(
        [
            {
                "segment_id": seg.id,
                "code": "mot_help",
                "score": 0.7,
                "components": {"threshold": 0.5},
                "evidence": [],
            }
        ],
        method="ensemble",
        model_version="test",
    )
    return project


@pytest.fixture()
def served(tmp_path, mini_codebook, transcript_file):
    project = _one_suggestion(tmp_path, mini_codebook, transcript_file)
    with _app_server(project, tmp_path) as url:
        yield project, url
    project.close()


@contextlib.contextmanager
def _app_server(project, cwd, *, team: bool = False):
    """The app on a free local port for ``project``, until the block ends."""
    port = _free_port()
    with serving(app_command(project.directory, port, team=team), port, cwd) as url:
        yield url


@contextlib.contextmanager
def serving(command: list[str], port: int, cwd, *, start_within: float = 60):
    """Run a Streamlit ``command`` listening on ``port`` until the block ends; its URL."""
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + start_within
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            break
        except OSError:
            time.sleep(0.3)
    else:
        server.kill()
        pytest.fail("the app did not start: " + server.stdout.read().decode(errors="replace")[-2000:])
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def _idle(page) -> None:
    """Wait until the script run is over (Streamlit shows a status widget while it runs)."""
    page.wait_for_timeout(1_000)
    page.get_by_role("button", name="Stop").wait_for(state="hidden", timeout=60_000)


def test_accept_in_browser_persists_decision_with_coder(served, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    project, url = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page()
        try:
            page.goto(url)
            page.get_by_text("Memo on this segment").wait_for(timeout=60_000)  # the page is complete
            name_box = page.get_by_label("Your name or initials")
            for _ in range(5):  # a choice made while the first run is still finishing can be lost; repeat it
                _idle(page)
                page.get_by_role("combobox", name="Coder").click()
                page.get_by_role("option", name="(new coder)").click()
                try:
                    name_box.wait_for(timeout=5_000)
                    break
                except PlaywrightTimeout:
                    continue
            name_box.fill("dana")
            name_box.press("Enter")
            page.get_by_text("Coding as").wait_for(timeout=20_000)
            _idle(page)
            page.get_by_role("button", name="Accept").click()
            deadline = time.time() + 20
            while time.time() < deadline and project.decisions().empty:
                time.sleep(0.3)
            page.screenshot(path=str(tmp_path / "after_accept.png"))
        finally:
            browser.close()
    decisions = project.decisions()
    assert len(decisions) == 1
    assert decisions.coder.iloc[0] == "dana" and decisions.action.iloc[0] == "accept"
    assert project.codings().coder.tolist() == ["dana"]


PAYLOAD_IMAGE = "![i](http://203.0.113.9/i.png)"  # TEST-NET-3: never routed; requests are caught below
PAYLOAD_TAG = "<img src=http://203.0.113.9/t.png>"
PAYLOAD_LINK = "[c](javascript:alert(1))"


@pytest.fixture()
def hostile(tmp_path, mini_codebook_path):
    """A project whose every user-supplied string carries an image, a tag or a link: transcript text,
    a document attribute, a memo, a coder's name, the codebook's labels and definitions, evidence."""
    _requirements()
    from clhs_mechanisms import parse_codebook

    text = mini_codebook_path.read_text(encoding="utf-8")
    text = text.replace("label: Helping others", f'label: "Helping others {PAYLOAD_IMAGE}"')
    text = text.replace("label: Motivations", f'label: "Motivations {PAYLOAD_TAG}"')
    text = text.replace("description: Why people take part.", f'description: "Why {PAYLOAD_IMAGE}"')
    text = text.replace("unit: One to three sentences.", f'unit: "Sentences {PAYLOAD_IMAGE}"')
    project = Project.init(tmp_path / "proj", parse_codebook(text))
    doc = tmp_path / "files" / "p09.md"
    doc.parent.mkdir()
    doc.write_text(
        f"---\nsite: 'Clinic {PAYLOAD_IMAGE}'\n---\n\nInterviewer: Why? {PAYLOAD_TAG}\n"
        f"P09: I give back to other families {PAYLOAD_IMAGE} and {PAYLOAD_LINK}. "
        "The registry form was easy.\n",
        encoding="utf-8",
    )
    list(import_paths(project, [doc]))
    seg = project.segments(codable_only=True).iloc[0]
    project.add_suggestions(
        [
            {
                "segment_id": seg.id,
                "code": "mot_help",
                "score": 0.7,
                "components": {"threshold": 0.5},
                "evidence": [
                    {"start": 0, "end": 6, "text": "I give", "why": f"cue phrase '{PAYLOAD_IMAGE}'"}
                ],
            }
        ],
        method="ensemble",
        model_version="test",
    )
    project.add_memo(
        f"See {PAYLOAD_IMAGE} {PAYLOAD_TAG}", coder=PAYLOAD_LINK, target_type="document", target_id="p09.md"
    )
    project.add_coding("p09.md", seg.start, seg.end, "mot_help", coder=PAYLOAD_LINK)
    with _app_server(project, tmp_path) as url:
        yield project, url
    project.close()


def test_no_page_renders_user_text_as_markup(hostile):
    """Images, tags and links in every user-supplied string are shown as typed on every page: the
    browser asks for nothing outside the app, and no javascript: link appears."""
    from playwright.sync_api import sync_playwright

    project, url = hostile
    outside: list[str] = []
    current = [""]

    def guard(route) -> None:  # nothing leaves the machine, whatever the page asks for
        if route.request.url.startswith(url):
            route.continue_()
        else:
            outside.append(f"{current[0]}: {route.request.url}")
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page()
        page.route("**/*", guard)
        try:
            for path in ("", "documents", "codebook", "cooccurrence", "agreement", "export"):
                current[0] = path or "review"
                page.goto(f"{url}/{path}")
                page.get_by_role("heading", level=1).first.wait_for(timeout=60_000)
                _idle(page)
                if path in ("", "documents", "codebook"):  # these show the payloads: as typed, as text
                    page.get_by_text("203.0.113.9").first.wait_for(timeout=60_000)
                else:
                    page.wait_for_timeout(3_000)
                assert page.locator("a[href^='javascript']").count() == 0, path
        finally:
            browser.close()
    assert outside == [], sorted(set(outside))


def _sign_in(page, url: str, name: str, password: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="Name").wait_for(timeout=60_000)
    _idle(page)
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_team_sign_in_and_blind_double_coding(tmp_path, mini_codebook, transcript_file):
    """Team mode in the browser: a wrong password is refused, a sign-in survives a reload; with blind
    coding two coders each decide the same suggestion and neither sees the other's coding."""
    from playwright.sync_api import sync_playwright

    project = _one_suggestion(tmp_path, mini_codebook, transcript_file)
    project.add_coder("ana", "correct horse")
    project.add_coder("bo", "battery staple")
    project.set_setting("blind", "on")
    with _app_server(project, tmp_path, team=True) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            stranger = browser.new_context().new_page()
            stranger.goto(f"{url}/documents")  # a page's own address: still behind the sign-in
            stranger.get_by_text("Sign in (in the sidebar) to open the project.").wait_for(timeout=60_000)
            assert stranger.get_by_text("Select text in a turn").count() == 0
            ana = browser.new_context().new_page()
            _sign_in(ana, url, "ana", "not it at all")
            ana.get_by_text("Name or password is wrong.").wait_for(timeout=30_000)
            _sign_in(ana, url, "ana", "correct horse")
            ana.get_by_text("Signed in as").wait_for(timeout=30_000)
            ana.reload()
            ana.get_by_text("Signed in as").wait_for(timeout=60_000)  # remembered across the reload
            _idle(ana)
            ana.get_by_role("button", name="Accept").click()
            _wait(lambda: len(project.decisions()) == 1)
            bo = browser.new_context().new_page()
            _sign_in(bo, url, "bo", "battery staple")
            bo.get_by_text("Signed in as").wait_for(timeout=30_000)
            _idle(bo)
            bo.get_by_role("button", name="Reject").click()  # the same suggestion: still bo's to decide
            _wait(lambda: len(project.decisions()) == 2)
            for page, sees in ((bo, 0), (ana, 1)):
                page.get_by_role("link", name="Documents").click()
                page.get_by_text("Select text in a turn").wait_for(timeout=60_000)
                _idle(page)
                page.wait_for_timeout(2_000)
                assert page.get_by_text("Helping others").count() == sees
        finally:
            browser.close()
    decided = project.decisions().set_index("coder")["action"].to_dict()
    assert decided == {"ana": "accept", "bo": "reject"}


def _wait(condition, seconds: float = 20) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline and not condition():
        time.sleep(0.3)
    assert condition()
