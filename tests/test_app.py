"""The review app through Streamlit's AppTest: every page loads, actions change the store as intended."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from clhs_mechanisms import Project, import_paths
from clhs_mechanisms.assist import queue

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = Path(__file__).resolve().parents[1] / "clhs_mechanisms" / "app" / "views"

NASTY = """Interviewer: What happened next?
P07: I give back because someone helped us. <script>alert('x')</script> The registry form was easy.
Interviewer: And the dashboard?
P07: The dashboard <img src=x onerror=alert(1)> shows every centre. We joined for the credit, honestly.
"""


@pytest.fixture()
def app_project(tmp_path, mini_codebook, monkeypatch):
    f = tmp_path / "p07.txt"
    f.write_text(NASTY, encoding="utf-8")
    project = Project.init(tmp_path / "proj", mini_codebook)
    list(import_paths(project, [f]))
    segs = project.segments(codable_only=True)
    project.add_suggestions(
        [
            {
                "segment_id": segs.id.iloc[0],
                "code": "mot_help",
                "score": 0.62,
                "components": {"cues": 0.7, "threshold": 0.5},
                "evidence": [{"start": 2, "end": 11, "text": "give back", "why": "cue 'give back'"}],
            },
            {
                "segment_id": segs.id.iloc[-1],
                "code": "ppi_registry",
                "score": 0.55,
                "components": {"threshold": 0.5},
                "evidence": [],
            },
        ],
        method="ensemble",
        model_version="test",
    )
    monkeypatch.setenv("CLHS_PROJECT", str(project.directory))
    yield project
    from clhs_mechanisms.app.trainer import trainer

    trainer().join(timeout=300)  # a page's background job must not outlive its project


def _app(page: str | None = None, coder: str | None = "ana") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    if coder:
        at.session_state["coder"] = coder
    at.run()
    if page:
        at.switch_page(str(PAGES / page))
        at.run()
    assert not at.exception, at.exception
    return at


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_every_page_loads(app_project):
    for page in ["review.py", "documents.py", "codebook.py", "cooccurrence.py", "agreement.py", "export.py"]:
        at = _app(page)
        assert at.title, page


def test_missing_project_shows_message_not_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("CLHS_PROJECT", str(tmp_path / "nowhere"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "Cannot open the project" in at.error[0].value and "no such project directory" in at.error[0].value


def test_accept_records_decision_with_coder(app_project):
    at = _app()
    _button(at, "Accept").click().run()
    assert not at.exception
    d = app_project.decisions()
    assert len(d) == 1 and d.coder.iloc[0] == "ana" and d.action.iloc[0] == "accept"
    assert app_project.codings().coder.tolist() == ["ana"]


def test_reject_and_different_code_and_memo(app_project):
    at = _app(coder="ben")
    _button(at, "Reject").click().run()
    next(box for box in at.selectbox if box.label == "Code").set_value("mot_credit").run()
    next(area for area in at.text_area if area.label == "Memo").input("Clear case of credit.").run()
    _button(at, "Save memo").click().run()
    _button(at, "Apply this code instead").click().run()
    assert not at.exception
    d = app_project.decisions()
    # the queue shows the most uncertain first: ppi_registry (0.55) before mot_help (0.62)
    assert list(d.action) == ["reject", "edit"] and list(d.code) == ["ppi_registry", "mot_credit"]
    assert list(d.suggested) == ["ppi_registry", "mot_help"]
    assert app_project.memos().text.tolist() == ["Clear case of credit."]


def test_no_coder_no_decision(app_project):
    at = _app(coder=None)
    assert _button(at, "Accept").disabled
    assert app_project.decisions().empty


def test_second_reviewer_is_told_and_may_disagree(app_project):
    at = _app(coder="ana")  # ana's page shows the first item
    first = queue(app_project, limit=1).id.iloc[0]
    app_project.decide(first, "reject", coder="ben")  # ben decides it in another browser
    _button(at, "Accept").click().run()
    # the message is Markdown-escaped (it quotes a coder's name): compare the text a reader sees
    assert any("already decided (reject) by ben" in re.sub(r"\\(.)", r"\1", w.value) for w in at.warning)
    _button(at, "Record my disagreement").click().run()
    assert len(app_project.decisions()) == 1 and app_project.decisions().coder.iloc[0] == "ben"
    assert "Disagreement" in app_project.memos().text.iloc[0]
    assert app_project.codings().coder.tolist() == ["ana"]  # ana's own view is kept as her coding


def test_a_widened_span_is_not_carried_over_and_undo_takes_it_back(app_project):
    """Issue 16: '+ previous segment' chosen on one item is gone on the next; U undoes."""
    at = _app()
    next(r for r in at.radio if r.label == "Span").set_value("previous").run()
    _button(at, "Accept").click().run()
    assert next(r for r in at.radio if r.label == "Span").value == "segment"
    _button(at, "Accept").click().run()
    first, second = app_project.decisions()["action"].tolist()
    assert (first, second) == ("edit", "accept")
    _button(at, "Undo").click().run()
    assert not at.exception and len(app_project.decisions()) == 1 and len(app_project.suggestions()) == 1


def test_transcript_html_is_escaped(app_project):
    """Review renders the transcript as escaped HTML; Documents hands it to the coding view, which
    writes it as text nodes (tests/test_coding_view.py checks that in the browser)."""
    for page in ("review.py", "documents.py"):
        at = _app(page)
        html = "".join(m.value for m in at.markdown)
        assert "<script>" not in html and "<img" not in html
    assert "&lt;img" in "".join(m.value for m in _app("review.py").markdown)


def test_documents_filter_selection_coding_and_memo(app_project):
    """A selection (as the coding view reports it) is coded by label; twice is refused; the coder can
    change and delete it."""
    at = _app("documents.py")
    at.selectbox(key="doc_coded").set_value("uncoded").run()
    start = app_project.document_text("p07.txt").index("dashboard")
    segs = app_project.segments(document="p07.txt")
    turn = int(segs[(segs["start"] <= start) & (segs["end"] > start)]["turn"].iloc[0])
    selection = {"turn": turn, "start": start, "end": start + 9, "text": "dashboard"}
    at.session_state["view:p07.txt:1:selection"] = selection  # what the coding view keeps
    at.run()
    at.selectbox(key="doc_code").set_value("ppi_registry").run()
    _button(at, "Code selection").click().run()
    assert not at.exception
    c = app_project.codings()
    assert (c.code.tolist(), c.quote.tolist(), c.origin.tolist()) == (
        ["ppi_registry"],
        ["dashboard"],
        ["manual"],
    )
    assert at.info and "No documents match" in at.info[0].value  # now coded, so filtered out
    at.selectbox(key="doc_coded").set_value("all").run()
    at.selectbox(key="doc_recode").set_value("mot_credit").run()
    _button(at, "Change code").click().run()
    assert app_project.codings().code.tolist() == ["mot_credit"]
    _button(at, "Delete coding").click().run()
    assert app_project.codings().empty
    at.text_area(key="doc_memo").input("Read again.").run()
    _button(at, "Save memo").click().run()
    assert app_project.memos().target_type.tolist() == ["document"]


def test_documents_page_shows_what_the_reader_noticed(app_project, tmp_path):
    legacy = tmp_path / "legacy.txt"
    legacy.write_bytes("P01: na\u00efve *caf\u00e9*\n".encode("cp1252"))
    list(import_paths(app_project, [legacy]))
    at = _app("documents.py")
    at.selectbox(key="doc_name").set_value("legacy.txt").run()
    assert [w.value for w in at.warning] == [
        "When this document was imported, the reader noticed:\n- decoded as cp1252 \\(not valid UTF-8\\)"
    ]


def test_codebook_page_reports_a_code(app_project):
    app_project.add_coding("p07.txt", 0, 12, "mot_help", coder="ana")
    at = _app("codebook.py")
    at.selectbox(key="cb_code").set_value("mot_help").run()
    assert any("1 codings" in m.value for m in at.markdown)
    assert at.get("download_button")


def test_cooccurrence_measures_quotes_network_and_hypotheses(app_project):
    text = app_project.document_text("p07.txt")
    for code in ("mot_help", "ppi_registry"):
        app_project.add_coding("p07.txt", text.index("I give"), text.index("easy.") + 5, code, coder="ana")
    at = _app("cooccurrence.py")
    at.selectbox(key="co_measure").set_value("lift").run()
    assert not at.exception
    assert any("lift: n12 * N / (n1 * n2)" in c.value for c in at.caption)
    at.selectbox(key="co_a").set_value("mot_help").run()
    assert any("n1 = 1, n2 = 1, n12 = 1" in c.value for c in at.caption)
    assert {"Network", "Mechanism hypotheses", "Quotes behind a cell"} <= {h.value for h in at.subheader}
    assert at.get("download_button")


def test_locked_database_shows_message(app_project):
    import sqlite3

    at = _app("documents.py")
    holder = sqlite3.connect(app_project.directory / "project.db", timeout=0.1)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        at.text_area(key="doc_memo").input("while locked").run()
        next(b for b in at.button if b.label == "Save memo").click().run()
    finally:
        holder.rollback()
        holder.close()
    assert not at.exception
    assert any("locked" in e.value for e in at.error)


def test_background_retrain_refreshes_suggestions_down_to_the_pages_floor(app_project):
    from clhs_mechanisms.app.trainer import trainer

    under_review = app_project.documents_under_review()
    at = _app()
    at.number_input(key="suggest_floor").set_value(0.0)
    at.session_state["review_session"].since_retrain = 1000  # the next decision starts a retrain
    _button(at, "Accept").click().run()
    assert not at.exception
    job = trainer()
    job.join(timeout=300)
    assert job.message.startswith("retrained"), job.message
    pending = app_project.suggestions()
    assert set(pending["model_version"]) and "test" not in set(
        pending["model_version"]
    )  # rescored by the new model
    segments = app_project.segments(codable_only=True)
    reviewed = segments[segments["document"].isin(under_review)]
    # floor 0: every code of every segment under review, but the pair just decided
    assert len(pending) == len(reviewed) * len(app_project.codebook.code_ids) - 1


def test_live_scores_follow_decisions_between_retrains(app_project):
    from clhs_mechanisms.app.trainer import Trainer
    from clhs_mechanisms.assist import current_model_info, suggest, train

    train(app_project, gold=[])
    suggest(app_project)
    job = Trainer()
    info = current_model_info(app_project)
    assert job.ensure_live(str(app_project.directory), info)
    job.join(timeout=300)
    assert job.live is not None and job.message.startswith("live scores ready"), job.message
    assert not job.ensure_live(str(app_project.directory), info)  # already built for this model
    # a document suggested since the live scores were built gets them rebuilt, once
    new = app_project.directory.parent / "p08.txt"
    new.write_text(NASTY.replace("P07", "P08"), encoding="utf-8")
    list(import_paths(app_project, [new]))
    suggest(app_project, documents=["p08.txt"])
    under_review = set(app_project.suggestions()["document"])
    assert "p08.txt" in under_review and not job.live.documents.issuperset(under_review)
    assert job.ensure_live(str(app_project.directory), info, under_review)
    job.join(timeout=300)
    assert job.live.documents.issuperset(under_review)
    assert not job.ensure_live(str(app_project.directory), info, under_review)
    pending = app_project.suggestions()
    app_project.decide(pending["id"].iloc[0], "reject", coder="ana")
    updates = job.updates
    job.after_decision(app_project)
    assert job.updates == updates + 1
    assert "stored_score" in job.apply(app_project.suggestions(), app_project.directory)
    elsewhere = job.apply(app_project.suggestions(), app_project.directory.parent / "other")
    assert "stored_score" not in elsewhere  # live scores serve only the project they were built for
    unknown = app_project.suggestions().assign(segment_id="not-a-segment")
    assert job.live.apply(unknown)["score"].equals(unknown["score"])  # nothing known: nothing moves
    at = _app("review.py")  # the page orders by the live scores and still loads
    assert not at.exception


def test_page_compiles_while_a_background_job_parses(tmp_path):
    """Streamlit compiles pages with ``ast.parse`` while background jobs read models (numpy
    parses .npy headers with ``ast``); unserialised, CPython 3.11 fails one of them at random."""
    import ast
    import gc
    import threading

    import clhs_mechanisms.app.trainer  # noqa: F401  (installs the serialisation)

    class Cycle:  # garbage whose finaliser runs Python code, so threads switch inside ast.parse
        def __init__(self):
            self.me = self

        def __del__(self):
            sum(range(50))

    page = (PAGES / "review.py").read_text(encoding="utf-8")
    failures, stop = [], threading.Event()

    def background():
        while not stop.is_set():
            try:
                ast.literal_eval("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)}")
            except SystemError as exc:
                failures.append(exc)
            for _ in range(20):
                Cycle()

    job = threading.Thread(target=background, daemon=True)
    threshold = gc.get_threshold()
    gc.set_threshold(50)
    job.start()
    try:
        for _ in range(150):
            try:
                for _ in range(5):
                    Cycle()
                ast.parse(page)
            except SystemError as exc:
                failures.append(exc)
    finally:
        stop.set()
        job.join()
        gc.set_threshold(*threshold)
    assert not failures, failures[0]


def test_review_explains_the_suggestion_in_plain_words(app_project):
    """The review page says what the evidence is and how much came from the surrounding turns,
    without internal names, and shows any user text escaped."""
    project = app_project
    segs = project.segments(codable_only=True)
    project.add_suggestions(
        [
            {
                "segment_id": segs.id.iloc[1],
                "code": "mot_credit",
                "score": 0.9,
                "components": {
                    "cues": 0.2,
                    "classifier": 0.3,
                    "stacked": 0.2,
                    "stacked_threshold": 0.4,
                    "threshold": 0.5,
                },
                "evidence": [
                    {"start": 0, "end": 4, "text": "[x](", "why": "cue phrase '[x](javascript:alert(1))'"}
                ],
            }
        ],
        method="ensemble",
        model_version="test",
    )
    for sid in project.suggestions().query("code != 'mot_credit'")["id"]:
        project.decide(sid, "reject", coder="ben")  # the new suggestion is the only one left
    at = _app("review.py")
    captions = " ".join(c.value for c in at.caption)
    assert "Suggested because of the surrounding turns: the text alone scores 0.20" in captions
    assert "text alone (methods combined) 0.20" in captions and "cue phrases 0.20" in captions
    assert "stacked" not in captions.replace("(methods combined)", "")
    assert "Evidence:" in captions and "](javascript" not in captions  # markdown link syntax escaped
