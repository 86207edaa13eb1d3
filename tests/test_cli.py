"""The `clhs` command line: subcommands, --project / CLHS_PROJECT, exit code 2 on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile

import pytest
from click.testing import CliRunner

from clhs_mechanisms.cli import main


@pytest.fixture()
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, env: dict | None = None):
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


@pytest.fixture()
def proj(run, tmp_path, mini_codebook_path):
    result = run("init", str(tmp_path / "proj"), "--codebook", str(mini_codebook_path))
    assert result.exit_code == 0, result.output
    return tmp_path / "proj"


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_init_import_status_export(run, proj, transcript_file, tmp_path):
    result = run("import", str(transcript_file), "--project", str(proj))
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output
    again = run("import", str(transcript_file), "--project", str(proj))
    assert "unchanged" in again.output and "1 unchanged" in again.output
    status = run("status", "--json", env={"CLHS_PROJECT": str(proj)})
    info = json.loads(status.output)
    assert info["documents"] == 1 and info["codes"] == 3 and info["segments"] >= 3
    out = tmp_path / "codings.csv"
    exported = run("export", "codings", "--format", "csv", "-o", str(out), "--project", str(proj))
    assert exported.exit_code == 0 and out.read_text(encoding="utf-8").startswith("coding_id,document")


def test_import_prints_each_reader_warning_and_keeps_same_named_files_apart(run, proj, tmp_path):
    """A warning per line with the document's name; a/p01.txt and b/p01.txt are two documents."""
    for folder, answer in (("a", "P01: other\n"), ("b", "P01: caf\u00e9 \u2014 fine\n")):
        (tmp_path / "two" / folder).mkdir(parents=True)
        (tmp_path / "two" / folder / "p01.txt").write_text(answer, encoding="utf-8")
    with (tmp_path / "two" / "b" / "p01.txt").open("ab") as f:
        f.write("P02: na\u00efve\n".encode("cp1252"))
    result = run("import", str(tmp_path / "two"), "--project", str(proj))
    assert result.exit_code == 0, result.output
    assert "warning: b/p01.txt: mixed encodings: line 2 decoded as cp1252" in result.output
    assert "2 added" in result.output and "1 with warnings" in result.output
    status = json.loads(run("status", "--json", "--project", str(proj)).output)
    assert status["documents"] == 2


def test_codebook_validate_show(run, proj, mini_codebook_path):
    ok = run("codebook", "validate", str(mini_codebook_path))
    assert ok.exit_code == 0 and "valid codebook mini 0.1.0" in ok.output
    shown = run("codebook", "show", "--project", str(proj))
    assert "mot_help" in shown.output and "Motivations" in shown.output
    one = run("codebook", "show", "mot_help", "--project", str(proj))
    assert "## mot_help: Helping others" in one.output and "give back" in one.output
    _one_line_error(run("codebook", "show", "mot_nothing", "--project", str(proj)))


def test_bad_codebook_exit_2(run, tmp_path, mini_codebook_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(mini_codebook_path.read_text().replace("code: mot_credit", "code: mot_credti", 1))
    result = run("codebook", "validate", str(bad))
    assert result.exit_code == 2 and "refers to unknown code 'mot_credti'" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\ncodes: [\n")
    line = _one_line_error(run("init", str(tmp_path / "p2"), "--codebook", str(broken)))
    assert "broken.yaml:" in line and "malformed YAML" in line
    assert not (tmp_path / "p2" / "project.db").exists()


@pytest.mark.parametrize(
    "content,expect", [(b"", "empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "binary")]
)
def test_bad_files_exit_2(run, proj, tmp_path, content, expect):
    f = tmp_path / "bad.txt"
    f.write_bytes(content)
    line = _one_line_error(run("import", str(f), "--project", str(proj)))
    assert "bad.txt" in line and expect in line
    assert json.loads(run("status", "--json", "--project", str(proj)).output)["documents"] == 0


def test_more_bad_input_exit_2(run, proj, tmp_path, transcript_file):
    _one_line_error(run("import", str(tmp_path / "missing.txt"), "--project", str(proj)))
    _one_line_error(run("status", "--project", str(tmp_path)))  # not a project
    fake = tmp_path / "fake.docx"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("hello.txt", "not word")
    _one_line_error(run("import", str(fake), "--project", str(proj)))
    vtt = tmp_path / "broken.vtt"
    vtt.write_text("WEBVTT\n\n00:00:0x.000 --> 00:00:02.000\n<v P01>Hello\n", encoding="utf-8")
    assert "broken.vtt" in _one_line_error(run("import", str(vtt), "--project", str(proj)))
    csv = tmp_path / "lit.csv"
    csv.write_text("excerpt,authors\nSomething,Someone\n", encoding="utf-8")
    assert "text" in _one_line_error(run("import", str(csv), "--project", str(proj)))
    undecodable = tmp_path / "weird.txt"
    undecodable.write_bytes(b"P01: caf\x81\x8d\x8f\x90\x9d and more\n")
    _one_line_error(run("import", str(undecodable), "--project", str(proj)))
    run("import", str(transcript_file), "--project", str(proj))
    transcript_file.write_text("Interviewer: changed?\nP01: Yes, changed.\n", encoding="utf-8")
    assert "--replace" in _one_line_error(run("import", str(transcript_file), "--project", str(proj)))
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "project.db").write_bytes(b"garbage" * 500)
    assert "damaged" in _one_line_error(run("status", "--project", str(corrupt)))
    for url in ("nonsense://somewhere", "::::", "postgresql+nosuchdriver://ana:secret@/db"):
        line = _one_line_error(run("init", str(tmp_path / "elsewhere"), "--db-url", url))
        assert "cannot use this database URL" in line and "secret" not in line
        assert not (tmp_path / "elsewhere").exists()  # refused before anything is made


def test_demo_builds_a_project_from_the_shipped_corpus(run, tmp_path):
    result = run("demo", str(tmp_path / "demo"), "--no-train", "--no-app")
    assert result.exit_code == 0, result.output
    info = json.loads(run("status", "--json", "--project", str(tmp_path / "demo")).output)
    assert info["codes"] == 35 and info["interviews"] >= 16 and info["literature"] >= 1
    assert info["cases"] >= 16 and info["codable_segments"] > 0
    assert (
        info["codings"] > 1000 and "hypotheses H1-H10" in result.output and "Cohen's kappa" in result.output
    )
    again = run("demo", str(tmp_path / "demo"), "--no-app")  # reopens, rebuilds nothing
    assert again.exit_code == 0 and "already holds the demo: reopening it" in again.output
    assert json.loads(run("status", "--json", "--project", str(tmp_path / "demo")).output) == info
    assert run("demo", str(tmp_path / "demo"), "--force", "--no-train", "--no-app").exit_code == 0
    other = run("init", str(tmp_path / "mine"))
    assert other.exit_code == 0
    refused = run("demo", str(tmp_path / "mine"), "--no-app")  # someone's own project: never replaced
    assert refused.exit_code == 2 and "--force" in refused.output


def test_import_with_reader_processes_reports_a_bad_file_in_one_line(run, proj, tmp_path):
    from .conftest import TRANSCRIPT

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        (folder / f"t{i:02d}.txt").write_text(
            TRANSCRIPT.replace("Honestly", f"Honestly ({i})"), encoding="utf-8"
        )
    (folder / "t09.txt").write_bytes(b"")
    line = _one_line_error(run("import", str(folder), "--workers", "2", "--project", str(proj)))
    assert "t09.txt" in line and "empty" in line
    status = json.loads(run("status", "--json", "--project", str(proj)).output)
    assert status["documents"] == 9


def test_usage_mistakes_are_one_line_with_exit_code_2(tmp_path):
    """An unknown option, a missing argument and a bad value: one line naming the help to read."""
    for args, what in (
        (["--nope"], "No such option"),
        (["import"], "Missing argument"),
        (["suggest", "--floor", "3"], "Invalid value for '--floor'"),
    ):
        command = [sys.executable, "-c", "from clhs_mechanisms.cli import main; main()", *args]
        result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
        assert result.returncode == 2, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and what in lines[0] and "-h')" in lines[0]


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_import_workers_die_with_a_killed_importer(tmp_path):
    """kill -9 of `clhs import` while its reader processes work: no reader is left after 5 s."""
    from .conftest import TRANSCRIPT

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(120):
        (folder / f"t{i:03d}.txt").write_text(
            TRANSCRIPT.replace("Honestly", f"Honestly ({i})") * 40, encoding="utf-8"
        )
    clhs = [sys.executable, "-c", "from clhs_mechanisms.cli import main; main()"]
    subprocess.run([*clhs, "init", str(tmp_path / "proj")], check=True, capture_output=True)
    importer = subprocess.Popen(
        [*clhs, "import", str(folder), "--workers", "2", "--project", str(tmp_path / "proj")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline, workers = time.time() + 30, []
    while time.time() < deadline and len(workers) < 2 and importer.poll() is None:
        workers = _children(importer.pid)
        time.sleep(0.05)
    assert workers, "the import ended before its reader processes could be seen"
    importer.kill()
    importer.wait()
    time.sleep(5)
    assert [pid for pid in workers if _alive(pid)] == []


def test_sigterm_to_clhs_app_stops_the_streamlit_server_too(proj, tmp_path):
    """Issue 16: SIGTERM to `clhs app` (or `clhs demo`) left the Streamlit server running."""
    import signal
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-c", "from clhs_mechanisms.cli import main; main()"]
    app = subprocess.Popen([*command, "app", "--port", str(port), "--project", str(proj)], cwd=tmp_path)
    url = f"http://127.0.0.1:{port}/_stcore/health"

    def answers() -> bool:
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except OSError:
            return False

    try:
        deadline = time.time() + 60
        while time.time() < deadline and not answers():
            time.sleep(0.3)
        assert answers(), "the app did not start"
        app.send_signal(signal.SIGTERM)
        app.wait(timeout=20)
        deadline = time.time() + 10
        while time.time() < deadline and answers():
            time.sleep(0.3)
        assert not answers(), "the Streamlit server outlived `clhs app`"
    finally:
        if app.poll() is None:
            app.kill()
