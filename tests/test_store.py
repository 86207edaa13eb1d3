"""The project store: idempotent transactional import, replace with re-anchoring, codebook versions."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time

import pytest
import sqlalchemy as sa

from clhs_mechanisms import Project, ReaderError, StoreError, import_paths, parse_codebook
from clhs_mechanisms.store import SCHEMA_VERSION, anchor

from .conftest import TRANSCRIPT


def test_import_is_idempotent(project, transcript_file):
    first = list(import_paths(project, [transcript_file]))
    assert [r.status for r in first] == ["added"] and first[0].segments > 0
    again = list(import_paths(project, [transcript_file]))
    assert [r.status for r in again] == ["unchanged"]
    info = project.status()
    assert info["documents"] == 1 and info["segments"] == first[0].segments
    segs = project.segments()
    text = project.document_text("p01.txt")
    assert all(text[s.start : s.end] == s.text for s in segs.itertuples())
    assert not segs[segs.speaker == "Interviewer"].codable.any()


def test_changed_file_is_refused_without_replace(project, transcript_file):
    list(import_paths(project, [transcript_file]))
    transcript_file.write_text(TRANSCRIPT.replace("Honestly", "Frankly"), encoding="utf-8")
    with pytest.raises(StoreError, match="p01.txt: a different version .* use --replace"):
        list(import_paths(project, [transcript_file]))
    assert "Honestly" in project.document_text("p01.txt")


def test_replace_reanchors_codings_and_keeps_the_rest(project, transcript_file):
    list(import_paths(project, [transcript_file]))
    text = project.document_text("p01.txt")
    quote = "So I give back now."
    start = text.index(quote)
    project.add_coding("p01.txt", start, start + len(quote), "mot_help", coder="ana")
    lost_quote = "We joined partly for the credit, I admit."
    s2 = text.index(lost_quote)
    project.add_coding("p01.txt", s2, s2 + len(lost_quote), "mot_credit", coder="ana")
    new = TRANSCRIPT.replace("Honestly, someone", "Well, honestly, a nurse and someone").replace(
        "We joined partly for the credit, I admit.", "We joined for other reasons."
    )
    transcript_file.write_text(new, encoding="utf-8")
    (result,) = import_paths(project, [transcript_file], replace=True)
    assert result.status == "replaced" and result.reanchored == 1 and len(result.unanchored) == 1
    new_text = project.document_text("p01.txt")
    codings = project.codings()
    (c,) = codings.itertuples()
    assert new_text[c.start : c.end] == quote and c.segment_id is not None
    orphaned = project.codings(include_inactive=True)
    assert (orphaned.status == "orphaned").sum() == 1
    assert project.status()["orphaned_codings"] == 1


def test_anchor_prefers_matching_context():
    text = "a b. I agree. c d. I agree. e f."
    second = text.rindex("I agree.")
    assert anchor(text, "I agree.", "c d. ", " e f.", 0) == second
    assert anchor(text, "missing", "", "", 0) is None


def test_new_codebook_version_keeps_codings(project, transcript_file, mini_codebook):
    list(import_paths(project, [transcript_file]))
    text = project.document_text("p01.txt")
    i = text.index("credit")
    project.add_coding("p01.txt", i, i + 6, "mot_credit", coder="ana")
    new_text = (
        mini_codebook.text.replace("version: 0.1.0", "version: 0.2.0")
        .replace("- id: mot_credit", "- id: mot_required")
        .replace("code: mot_credit", "code: mot_required")
        .replace("contrast: [mot_credit]", "contrast: [mot_required]")
    )
    change = project.load_codebook(parse_codebook(new_text))
    assert change.removed == ("mot_credit",) and change.added == ("mot_required",)
    assert change.renamed == (("mot_credit", "mot_required"),)
    assert change.codings_kept == {"mot_credit": 1}
    assert "1 codings kept" in change.summary()
    assert len(project.codings()) == 1 and project.codebook.version == "0.2.0"
    assert project.load_codebook(parse_codebook(new_text)).unchanged


def test_unknown_code_is_refused(project, transcript_file):
    list(import_paths(project, [transcript_file]))
    with pytest.raises(StoreError, match="unknown code 'mot_hepl'"):
        project.add_coding("p01.txt", 0, 5, "mot_hepl", coder="ana")
    with pytest.raises(StoreError, match="outside the document"):
        project.add_coding("p01.txt", 0, 10**6, "mot_help", coder="ana")


def test_every_change_is_audited_and_log_is_append_only(project, transcript_file):
    list(import_paths(project, [transcript_file]))
    project.add_memo(
        "Interesting turn about giving back.", coder="ana", target_type="document", target_id="p01.txt"
    )
    log = project.audit_log()
    assert {"init", "load", "import", "memo"} <= set(log.action)
    with pytest.raises(sa.exc.DatabaseError), project.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit")
    first = log.iloc[0]
    for verb in (
        "INSERT OR REPLACE INTO",
        "REPLACE INTO",
    ):  # would delete the old row without a DELETE trigger
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), project.engine.begin() as conn:
            conn.exec_driver_sql(
                f"{verb} audit (seq, at, coder, action, entity, entity_id, detail) "
                f"VALUES ({int(first.seq)}, '2000-01-01', 'mallory', 'nothing', 'project', NULL, '{{}}')"
            )
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), project.engine.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO audit (seq, at, coder, action, entity, detail) VALUES "
            f"({int(first.seq)}, 'x', 'm', 'a', 'e', '{{}}') ON CONFLICT(seq) DO UPDATE SET coder = 'm'"
        )
    assert project.audit_log().iloc[0].equals(first)


def _old_project(tmp_path, *, downgrade_to_1: bool = False) -> Project:
    """A copy of a project written at schema version 3 (tests/data/projects/schema3.db), opened (and so
    migrated); ``downgrade_to_1`` first takes away what versions 2 and 3 added."""
    import shutil

    from .conftest import DATA

    (tmp_path / "old").mkdir()
    shutil.copy(DATA / "projects" / "schema3.db", tmp_path / "old" / "project.db")
    if downgrade_to_1:
        with sqlite3.connect(tmp_path / "old" / "project.db") as conn:
            conn.execute("DROP TRIGGER audit_no_replace")
            conn.execute("ALTER TABLE documents DROP COLUMN warnings")
            conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    return Project.open(tmp_path / "old")


def test_a_project_of_schema_3_is_migrated_and_keeps_its_work(tmp_path):
    """Version 4: coders gain a password hash and role, codings modifiers; a suggestion can have one
    decision per coder (blind double coding) but never two by one coder."""
    project = _old_project(tmp_path)
    assert project.get_meta("schema_version") == str(SCHEMA_VERSION)
    decided = project.decisions()
    assert (decided["coder"].tolist(), decided["action"].tolist()) == (["ana"], ["accept"])
    assert project.codings()["coder"].tolist() == ["ana"]
    with project.engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        row = conn.exec_driver_sql("SELECT * FROM decisions").mappings().first()
        conn.exec_driver_sql(
            "INSERT INTO decisions (id, suggestion_id, coder_id, action, created_at) "
            "VALUES (?, ?, ?, 'reject', 'x')",
            ("other-id", row["suggestion_id"], row["coder_id"]),
        )
    project.close()


def test_a_project_of_schema_1_is_migrated_when_opened(tmp_path):
    """Version 2 adds the REPLACE guard on the audit log, version 3 the documents' reader warnings."""
    again = _old_project(tmp_path, downgrade_to_1=True)
    with again.engine.connect() as conn:
        names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert "audit_no_replace" in names and again.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert again.documents()["warnings"].tolist() == [[]]
    again.close()


def test_open_errors(tmp_path, mini_codebook):
    with pytest.raises(StoreError, match="no such project directory"):
        Project.open(tmp_path / "nothing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(StoreError, match="not a clhs project"):
        Project.open(tmp_path / "plain")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "project.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="damaged or not a database"):
        Project.open(bad)
    p = Project.init(tmp_path / "p", mini_codebook)
    with pytest.raises(StoreError, match="already holds a project"):
        Project.init(tmp_path / "p", mini_codebook)
    p.close()


def test_locked_database_gives_clear_error(project, transcript_file):
    db = project.directory / "project.db"
    holder = sqlite3.connect(db, timeout=0.1)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        project.engine.dispose()
        with project.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout = 100")
        with pytest.raises(StoreError, match="locked by another process"):
            with project._guard(), project.engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA busy_timeout = 100")
                conn.exec_driver_sql("INSERT INTO meta (key, value) VALUES ('x', 'y')")
    finally:
        holder.rollback()
        holder.close()
    assert project.status()["documents"] == 0


def test_schema_version_newer_is_refused(project):
    with project.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE meta SET value = '{SCHEMA_VERSION + 1}' WHERE key = 'schema_version'")
    project.close()
    with pytest.raises(StoreError, match="newer than this clhs-mechanisms"):
        Project.open(project.directory)


def test_failed_document_leaves_nothing_half_written(project, tmp_path, transcript_file):
    bad = tmp_path / "files" / "zz_broken.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(ReaderError):
        list(import_paths(project, [transcript_file.parent]))
    info = project.status()
    assert info["documents"] == 1  # p01.txt imported before the broken file; nothing of the broken one


def _folder(tmp_path, n: int, broken_at: int | None = None):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(n):
        path = folder / f"t{i:02d}.txt"
        if i == broken_at:
            path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
        else:
            path.write_text(TRANSCRIPT.replace("Honestly", f"Honestly ({i})"), encoding="utf-8")
    return folder


def _stored(project) -> list[tuple]:
    segs = project.segments()
    return sorted(zip(segs.document, segs.start, segs.end, segs.text, segs.codable))


@pytest.mark.parametrize("workers", [1, 2])
def test_reader_processes_store_the_same_as_one_process(tmp_path, mini_codebook, workers):
    folder = _folder(tmp_path, 19)
    alone = Project.init(tmp_path / "alone", mini_codebook)
    together = Project.init(tmp_path / "together", mini_codebook)
    try:
        first = list(import_paths(alone, [folder], workers=0))
        second = list(import_paths(together, [folder], workers=workers))
        assert [r.name for r in second] == [r.name for r in first] == sorted(r.name for r in first)
        assert _stored(together) == _stored(alone) and len(_stored(alone)) > 19
        again = list(import_paths(together, [folder], workers=workers))
        assert {r.status for r in again} == {"unchanged"} and len(again) == 19
    finally:
        alone.close()
        together.close()


@pytest.mark.parametrize("workers", [0, 2])
def test_unreadable_file_stops_the_import_after_the_files_before_it(tmp_path, project, workers):
    folder = _folder(tmp_path, 19, broken_at=11)
    names = []
    with pytest.raises(Exception, match="t11.txt"):
        for result in import_paths(project, [folder], workers=workers):
            names.append(result.name)
    assert names == [f"t{i:02d}.txt" for i in range(11)]
    assert sorted(project.documents()["name"]) == names


def test_a_parallel_import_stopped_early_keeps_whole_documents_in_file_order(
    tmp_path, project, mini_codebook
):
    """Reader processes store in turns: what got stored is the first files, each with all its
    segments, and no reader process is left behind."""
    folder = _folder(tmp_path, 40)
    results = import_paths(project, [folder], workers=2)
    assert next(results).name == "t00.txt"
    results.close()
    deadline = time.monotonic() + 60
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not multiprocessing.active_children()
    stored = sorted(project.documents()["name"])
    assert 1 <= len(stored) < 40 and stored == [f"t{i:02d}.txt" for i in range(len(stored))]
    alone = Project.init(tmp_path / "alone", mini_codebook)
    try:
        list(import_paths(alone, [folder / name for name in stored], workers=0))
        assert _stored(project) == _stored(alone)
    finally:
        alone.close()


def test_documents_a_killed_reader_stored_are_reported_as_added(tmp_path, project, monkeypatch):
    """A reader process dies right after storing its first task: the import reruns that task here
    and reports its documents as added (they were new when the import started), not unchanged."""
    import os

    from clhs_mechanisms import ingest

    parent, done = os.getpid(), ingest._Turns.done

    def die_after_storing(self, task, failed=False):
        done(self, task, failed=failed)
        if os.getpid() != parent and task == 0:
            os._exit(1)

    monkeypatch.setattr(ingest._Turns, "done", die_after_storing)
    folder = _folder(tmp_path, 20)
    results = list(import_paths(project, [folder], workers=2))
    assert [r.name for r in results] == [f"t{i:02d}.txt" for i in range(20)]
    assert {r.status for r in results} == {"added"}
    assert len(project.documents()) == 20


def test_a_stopped_import_wakes_readers_waiting_for_their_turn():
    import threading

    from clhs_mechanisms.ingest import _Turns

    turns = _Turns(multiprocessing.get_context("spawn"))
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(turns.wait(2)))
    waiter.start()
    turns.done(0)
    assert turns.wait(1) and not outcome  # task 1's turn; task 2 still waits
    turns.stop()
    waiter.join(10)
    assert outcome == [False] and not turns.wait(1)


def test_reader_processes_are_spawned_from_a_threaded_process(tmp_path, project):
    """The app imports from a thread, where forking is unsafe: the readers are spawned then."""
    import threading

    folder = _folder(tmp_path, 10)
    results: list = []
    worker = threading.Thread(target=lambda: results.extend(import_paths(project, [folder], workers=1)))
    worker.start()
    worker.join(120)
    assert [r.status for r in results] == ["added"] * 10


@pytest.mark.parametrize("workers", [0, 2])
def test_reimport_segments_only_new_files_and_keeps_their_order(tmp_path, project, workers):
    folder = _folder(tmp_path, 12)
    list(import_paths(project, [folder], workers=workers))
    (folder / "t05b.txt").write_text(TRANSCRIPT.replace("Honestly", "New"), encoding="utf-8")
    again = list(import_paths(project, [folder], workers=workers))
    assert [(r.name, r.status) for r in again][5:8] == [
        ("t05.txt", "unchanged"),
        ("t05b.txt", "added"),
        ("t06.txt", "unchanged"),
    ]
    assert [r.status for r in again].count("unchanged") == 12


def test_ids_are_time_ordered_uuid7_across_a_counter_carry(monkeypatch):
    import uuid

    from clhs_mechanisms import store

    monkeypatch.setitem(store._clock, "ms", 2**47)  # in the future: the counter keeps running
    monkeypatch.setitem(store._clock, "counter", (1 << 48) - 3)  # the fourth group carries inside the batch
    ids = store.new_ids(6) + store.new_ids(2)
    assert ids == sorted(ids) and len(set(ids)) == 8
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)
    assert ids[2].split("-")[3] != ids[3].split("-")[3]


def test_a_project_with_its_database_elsewhere_is_found_from_its_directory(tmp_path, mini_codebook):
    from clhs_mechanisms.store import URL_FILE

    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    Project.init(tmp_path / "proj", mini_codebook, url=url).close()
    assert (tmp_path / "proj" / URL_FILE).read_text().strip() == url
    with Project.open(tmp_path / "proj") as project:
        assert project.where == str(tmp_path / "elsewhere.db") and project.status()["codes"] == 3
    with pytest.raises(StoreError, match="already holds a project"):
        Project.init(tmp_path / "proj", mini_codebook)
    with pytest.raises(StoreError, match="the database already holds a project"):
        Project.init(tmp_path / "other", mini_codebook, url=url)
    assert not (tmp_path / "other" / URL_FILE).exists()  # nothing recorded for a project not made


def _first_decision(args):
    """A process's first use of a coder name: one decision (for the race test)."""
    directory, suggestion_id, name = args
    project = Project.open(directory)
    try:
        project.decide(suggestion_id, "accept", coder=name)
        return "ok"
    except StoreError as exc:
        return str(exc)
    finally:
        project.close()


def test_first_use_of_a_coder_name_from_several_processes_refuses_nothing(project, transcript_file):
    """Eight processes decide eight suggestions as a coder none of them has used before: every
    decision is stored and the coder exists once."""
    list(import_paths(project, [transcript_file]))
    segs = project.segments(codable_only=True)
    rows = [
        {"segment_id": sid, "code": code, "score": 0.9, "components": {}, "evidence": []}
        for sid in segs["id"]
        for code in ("mot_help", "mot_credit")
    ][:8]
    project.add_suggestions(rows, method="cues", model_version="t")
    ids = project.suggestions()["id"].tolist()
    with multiprocessing.get_context("fork").Pool(8) as pool:
        results = pool.map(_first_decision, [(str(project.directory), sid, "newcomer") for sid in ids])
    assert results == ["ok"] * len(ids)
    coders = project.coders()
    assert (coders["name"] == "newcomer").sum() == 1 and len(project.decisions()) == len(ids)


def test_changed_content_under_the_same_version_is_said_so(project, mini_codebook):
    changed = parse_codebook(
        mini_codebook.text.replace("label: Helping others", "label: Helping other families")
    )
    summary = project.load_codebook(changed).summary()
    assert summary.startswith("codebook 0.1.0 reloaded with changed content under the same version number")
    assert "0.1.0 -> 0.1.0" not in summary and "1 relabelled" in summary


def test_reader_warnings_are_stored_with_the_document(project, tmp_path):
    """What a reader noticed (here: lines in cp1252 among UTF-8) is kept and read back."""
    path = tmp_path / "mixed.txt"
    path.write_bytes("P01: caf\u00e9 \u2014 fine\n".encode() + "P02: na\u00efve\n".encode("cp1252"))
    (result,) = import_paths(project, [path])
    assert result.warnings == ("mixed encodings: line 2 decoded as cp1252, the rest as UTF-8",)
    assert project.documents()["warnings"].tolist() == [list(result.warnings)]
