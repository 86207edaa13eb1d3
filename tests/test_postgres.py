"""The project store on a real PostgreSQL 15 server, started on a private port and socket directory
for this module and stopped after it (skipped where the server binaries or the driver are missing)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from clhs_mechanisms import Project, import_paths
from clhs_mechanisms.cli import main
from clhs_mechanisms.store import DB_NAME, URL_FILE

from .test_store import _folder, _stored

PG_BIN = Path(os.environ.get("CLHS_PG_BIN", "/usr/lib/postgresql/15/bin"))
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def new_database():
    """A function that creates an empty database on the private server and returns its URL."""
    if not (PG_BIN / "initdb").is_file():
        pytest.skip(f"no PostgreSQL server binaries in {PG_BIN}")
    pytest.importorskip("psycopg")
    root = Path(tempfile.mkdtemp(prefix="clhs-pg-"))
    as_server = []
    if os.geteuid() == 0:  # initdb refuses to run as root: the server runs as nobody
        as_server = ["runuser", "-u", "nobody", "--"]
        shutil.chown(root, "nobody")
    data, sockets = root / "data", root / "sockets"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def server(*args: str) -> None:
        subprocess.run(as_server + list(args), check=True, capture_output=True)

    server("mkdir", str(sockets))
    server(str(PG_BIN / "initdb"), "-D", str(data), "-U", "clhs", "--auth=trust")
    server(
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(root / "server.log"),
        "-w",
        "start",
        "-o",
        f"-p {port} -k {sockets} -c listen_addresses=''",
    )
    made = []

    def create() -> str:
        name = f"clhs{len(made)}"
        server(str(PG_BIN / "createdb"), "-h", str(sockets), "-p", str(port), "-U", "clhs", name)
        made.append(name)
        return f"postgresql+psycopg://clhs@/{name}?host={sockets}&port={port}"

    try:
        yield create
    finally:
        server(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_a_postgresql_project_works_through_the_cli_from_its_directory(new_database, tmp_path):
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    proj = tmp_path / "proj"
    url = new_database()
    assert run("init", str(proj), "--db-url", url).exit_code == 0
    assert (proj / URL_FILE).is_file() and not (proj / DB_NAME).exists()
    again = run("init", str(proj), "--db-url", url)  # the directory already records a project
    assert again.exit_code == 2 and "already holds a project" in again.output
    # every later command finds the database from the directory alone
    interviews = tmp_path / "interviews"  # a few shipped interviews with their attributes
    interviews.mkdir()
    names = sorted(p.name for p in (ROOT / "corpus" / "interviews").glob("int0*"))[:6]
    for name in names:
        shutil.copy(ROOT / "corpus" / "interviews" / name, interviews / name)
    shutil.copy(ROOT / "corpus" / "interviews" / "attributes.csv", interviews / "attributes.csv")
    gold = tmp_path / "gold.jsonl"  # a slice of the shipped training data keeps the fit short
    gold.write_text(
        "\n".join((ROOT / "corpus" / "gold" / "train.jsonl").read_text(encoding="utf-8").splitlines()[:400]),
        encoding="utf-8",
    )
    assert run("import", str(interviews), "--project", str(proj)).exit_code == 0
    status = run("status", "--project", str(proj))
    assert "documents" in status.output and "6" in status.output
    assert run("train", "--gold", str(gold), "--project", str(proj)).exit_code == 0
    assert run("suggest", "--project", str(proj)).exit_code == 0
    first = json.loads(run("queue", "--limit", "1", "--json", "--project", str(proj)).output.splitlines()[0])
    assert run("decide", first["id"], "accept", "--coder", "ana", "--project", str(proj)).exit_code == 0
    late = run("decide", first["id"], "reject", "--coder", "ben", "--project", str(proj))
    assert late.exit_code == 2 and "ana" in late.output  # refused with who decided; nothing overwritten
    exported = list(csv.DictReader(io.StringIO(run("export", "codings", "--project", str(proj)).output)))
    assert len(exported) == 1 and exported[0]["code"] == first["code"]  # a quote may hold a line break


def test_reader_processes_store_in_turns_on_postgresql(new_database, tmp_path, mini_codebook):
    folder = _folder(tmp_path, 19, broken_at=13)
    alone = Project.init(tmp_path / "alone", mini_codebook)
    pg = Project.init(tmp_path / "pg", mini_codebook, url=new_database())
    try:
        with pytest.raises(Exception, match="t13.txt"):
            list(import_paths(alone, [folder], workers=0))
        names = []
        with pytest.raises(Exception, match="t13.txt"):
            for result in import_paths(pg, [folder], workers=2):
                names.append(result.name)
        assert names == [f"t{i:02d}.txt" for i in range(13)]
        assert _stored(pg) == _stored(alone) and sorted(pg.documents()["name"]) == names
        reopened = Project.open(tmp_path / "pg")
        assert len(reopened.documents()) == 13
        reopened.close()
        for change in ("UPDATE audit SET coder = 'someone else'", "DELETE FROM audit"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"), pg.engine.begin() as conn:
                conn.exec_driver_sql(change)
    finally:
        alone.close()
        pg.close()


def test_an_unreachable_server_is_one_line_and_leaves_no_record(tmp_path):
    pytest.importorskip("psycopg")
    result = CliRunner().invoke(
        main,
        [
            "init",
            str(tmp_path / "proj"),
            "--db-url",
            f"postgresql+psycopg://clhs@/clhs?host={tmp_path / 'no-server'}",
        ],
    )
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert not (tmp_path / "proj" / URL_FILE).exists()


def test_every_app_page_loads_and_accepts_on_postgresql(new_database, tmp_path, monkeypatch, mini_codebook):
    from .test_app import _app, _button

    project = Project.init(tmp_path / "proj", mini_codebook, url=new_database())
    folder = _folder(tmp_path, 2)
    list(import_paths(project, [folder], workers=0))
    segment = project.segments(codable_only=True).id.iloc[0]
    project.add_suggestions(
        [
            {
                "segment_id": segment,
                "code": "mot_help",
                "score": 0.62,
                "components": {"threshold": 0.5},
                "evidence": [],
            }
        ],
        method="ensemble",
        model_version="test",
    )
    monkeypatch.setenv("CLHS_PROJECT", str(project.directory))
    for page in ["documents.py", "codebook.py", "cooccurrence.py", "agreement.py", "export.py"]:
        assert _app(page).title, page
    at = _app("review.py")
    _button(at, "Accept").click().run()
    assert not at.exception
    assert project.status()["decisions"] == 1
    project.close()
