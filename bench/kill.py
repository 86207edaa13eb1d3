"""kill -9 of ``clhs import`` or ``clhs suggest`` mid-way: processes left behind, and the project after.

Builds a project in a temporary folder and an input of FILES transcripts (the shipped ``.txt``
interviews under new names, a first line naming each copy), then, each command with WORKERS worker
processes:

1. ``clhs import INPUT --workers W``, killed (SIGKILL, main process only) once each fraction in
   ``--import-at`` of the files is stored (one run per fraction, each resuming the last);
2. ``clhs import INPUT`` again to its end: what the killed runs stored must read as unchanged;
3. ``clhs train`` (on the codebook's examples only, in seconds: the model's quality does not matter
   here; ``--gold`` adds the shipped gold data, about a minute), then ``clhs suggest --workers W``,
   killed once each number in ``--suggest-at`` of batches is stored; then ``clhs suggest`` to its end.

After each kill: the processes of the killed command still alive (not zombies) at 0.5 s, 1 s and 5 s,
and when the last one went. Its processes are every descendant of the main process seen while it
ran (``/proc`` polled every 20 ms) and any process whose command line names the project. Then the
project: ``PRAGMA integrity_check`` and ``foreign_key_check``, documents without turns or segments,
segments whose text is not the document's text at their offsets, documents whose segment count differs
from the other copies of the same interview (a half-written document), (segment, code) pairs with two
pending suggestions, and whether ``clhs status`` runs. Processes still alive after 5 s are killed by
pid at the end of each round (after counting).

Usage: python bench/kill.py [--files 300] [--workers 2] [--import-at 0.3 0.7] [--suggest-at 1 4] [--gold]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

CLHS = [shutil.which("clhs", path=str(Path(sys.executable).parent)) or "clhs"]  # the venv's own
CHECKS_AT = (0.5, 1.0, 5.0)


def processes() -> dict[int, tuple[int, str, int, str]]:
    """Every process now: pid -> (parent pid, state, start time in ticks, command line)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # ended meanwhile
            continue
        table[int(entry)] = (int(fields[1]), fields[0], int(fields[19]), cmdline)
    return table


def descendants(table: dict, root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(seen: dict[int, int], project: Path) -> tuple[list[int], int]:
    """The processes of ``seen`` (pid -> start time) and those naming ``project`` that still run, and
    how many of them are zombies."""
    table = processes()
    mine = {pid for pid, start in seen.items() if pid in table and table[pid][2] == start}
    mine |= {pid for pid, row in table.items() if str(project) in row[3] and pid != os.getpid()}
    running = sorted(pid for pid in mine if table[pid][1] != "Z")
    return running, len(mine) - len(running)


def count(project: Path, sql: str) -> int:
    with sqlite3.connect(project / "project.db", timeout=10) as db:
        return db.execute(sql).fetchone()[0]


def kill_mid_way(command: list[str], project: Path, stored: str, target: int) -> dict:
    """Run ``command``, kill -9 its main process once ``stored`` (a count query) reaches ``target``,
    and count its processes left at each of ``CHECKS_AT`` seconds."""
    before = count(project, stored)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: dict[int, int] = {}
    last_db = 0.0
    t0 = time.perf_counter()
    while proc.poll() is None:
        table = processes()
        for pid in descendants(table, proc.pid) | {proc.pid}:
            if pid in table:
                seen.setdefault(pid, table[pid][2])
        if time.perf_counter() - last_db > 0.1:
            last_db = time.perf_counter()
            if count(project, stored) >= target:
                break
        time.sleep(0.02)
    else:
        return {"finished": True, "seconds": time.perf_counter() - t0}
    at_kill = len(descendants(processes(), proc.pid))
    killed = time.perf_counter()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()  # our own child: reaped here, so it is not counted as left
    seen.pop(proc.pid, None)
    left, gone, marks = {}, None, list(CHECKS_AT)
    while marks:
        now = time.perf_counter() - killed
        running, zombies = alive(seen, project)
        if not running and gone is None:
            gone = now
        while marks and now >= marks[0]:
            left[marks.pop(0)] = len(running)
        if marks:  # the next poll in 50 ms, or at the next mark if that comes first
            time.sleep(max(0.0, min(now + 0.05, marks[0]) - (time.perf_counter() - killed)))
    table = processes()
    leftovers = [f"{pid} {table[pid][1]} {table[pid][3][:80]}" for pid in running if pid in table]
    for pid in running:  # measured: now end them, by pid
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return dict(
        finished=False,
        seconds=killed - t0,
        stored=count(project, stored) - before,
        children=at_kill,
        seen=len(seen),
        left=left,
        gone=gone,
        zombies=zombies,
        leftovers=leftovers,
    )


def check(project: Path) -> dict:
    """The project's state: integrity, half-written documents, duplicate pending suggestions, status."""
    with sqlite3.connect(project / "project.db", timeout=10) as db:
        integrity = "; ".join(r[0] for r in db.execute("PRAGMA integrity_check"))
        fk = len(db.execute("PRAGMA foreign_key_check").fetchall())
        docs = db.execute(
            "SELECT d.name, (SELECT count(*) FROM turns t WHERE t.document_id = d.id AND NOT t.retired), "
            "(SELECT count(*) FROM segments s WHERE s.document_id = d.id AND NOT s.retired) FROM documents d"
        ).fetchall()
        misplaced = db.execute(
            "SELECT count(*) FROM segments s JOIN documents d ON d.id = s.document_id WHERE "
            'substr(d.text, s.start + 1, s."end" - s.start) != s.text'
        ).fetchone()[0]
        doubled = db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM suggestions WHERE status = 'pending' "
            "GROUP BY segment_id, code_id HAVING count(*) > 1)"
        ).fetchone()[0]
    by_source: dict[str, Counter] = {}
    for name, _, segs in docs:
        by_source.setdefault(name.split("_", 1)[1], Counter())[segs] += 1
    odd = sum(sum(c.values()) - c.most_common(1)[0][1] for c in by_source.values())
    status = subprocess.run([*CLHS, "status", "--project", str(project)], capture_output=True, text=True)
    return dict(
        integrity=integrity,
        fk=fk,
        documents=len(docs),
        empty=sum(1 for _, turns, segs in docs if not turns or not segs),
        misplaced=misplaced,
        odd=odd,
        doubled=doubled,
        status=status.returncode
        if status.returncode == 0
        else f"{status.returncode} ({status.stderr[-160:]})",
    )


def make_input(directory: Path, files: int) -> int:
    """``files`` transcripts: shipped ``.txt`` interviews under new names; returns their bytes."""
    from clhs_mechanisms.shipped import shipped_corpus_path

    sources = sorted((shipped_corpus_path() / "interviews").glob("*.txt"))
    directory.mkdir(parents=True)
    size = 0
    for i in range(files):
        src = sources[i % len(sources)]
        text = f"Interviewer: This is copy {i} of {src.stem}.\n" + src.read_text(encoding="utf-8")
        size += (directory / f"c{i:04d}_{src.stem}.txt").write_text(text, encoding="utf-8")
    return size


def run(command: list[str]) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    last = (done.stdout.strip() or done.stderr.strip()).splitlines()[-1:] or [""]
    return done.returncode, time.perf_counter() - t0, last[0][:160]


def describe(label: str, killed: dict, state: dict) -> tuple:
    if killed["finished"]:
        print(f"{label}: ended by itself after {killed['seconds']:.1f} s, before the kill point")
        return (label, "-", "-", "-", "-", "-", "-")
    left = killed["left"]
    gone = f"{killed['gone']:.2f} s" if killed["gone"] is not None else "> 5 s"
    print(
        f"{label}: killed after {killed['seconds']:.1f} s ({killed['stored']:,} stored, "
        f"{killed['children']} child processes alive, {killed['seen']} seen); left at 0.5/1/5 s: "
        f"{left[0.5]}/{left[1.0]}/{left[5.0]}, last gone {gone}, zombies {killed['zombies']}"
    )
    for row in killed["leftovers"]:
        print(f"  left after 5 s: {row}")
    print(
        f"  project: integrity {state['integrity']}, foreign key violations {state['fk']}, "
        f"{state['documents']} documents, {state['empty']} without turns or segments, "
        f"{state['misplaced']} segments off their text, {state['odd']} with another segment count than "
        f"their copies, {state['doubled']} pairs with 2+ pending suggestions, clhs status exit "
        f"{state['status']}"
    )
    fine = (
        state["integrity"] == "ok"
        and not (state["fk"] or state["empty"] or state["misplaced"] or state["odd"] or state["doubled"])
        and state["status"] == 0
    )
    return (label, left[0.5], left[1.0], left[5.0], gone, killed["zombies"], "yes" if fine else "NO")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300, help="transcripts in the import")
    parser.add_argument("--workers", type=int, default=2, help="reader / scoring processes")
    parser.add_argument("--import-at", type=float, nargs="+", default=[0.3, 0.7], help="fractions of files")
    parser.add_argument("--suggest-at", type=int, nargs="+", default=[1, 4], help="batches stored")
    parser.add_argument("--gold", action="store_true", help="train on the shipped gold data too (slower)")
    args = parser.parse_args()

    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="clhs-kill-"))
    rows = []
    try:
        project, corpus = root / "project", root / "input"
        size = make_input(corpus, args.files)
        print(f"input: {args.files} transcripts, {size / 1e6:.1f} MB; {args.workers} worker processes")
        subprocess.run([*CLHS, "init", str(project)], check=True, capture_output=True)
        workers = ["--workers", str(args.workers), "--project", str(project)]
        for fraction in args.import_at:
            target = max(1, round(fraction * args.files))
            killed = kill_mid_way(
                [*CLHS, "import", str(corpus), *workers], project, "SELECT count(*) FROM documents", target
            )
            rows.append(describe(f"import killed at {fraction:.0%} of files", killed, check(project)))
        code, seconds, last = run([*CLHS, "import", str(corpus), *workers])
        print(f"import resumed: exit {code} in {seconds:.1f} s: {last}")
        state = check(project)
        print(f"  project after it: {state}")
        (root / "none.jsonl").write_text("", encoding="utf-8")
        gold = [] if args.gold else ["--gold", str(root / "none.jsonl")]
        code, seconds, last = run([*CLHS, "train", *gold, "--project", str(project)])
        print(f"train: exit {code} in {seconds:.1f} s")
        batches = "SELECT count(*) FROM audit WHERE action = 'suggest'"
        for n in args.suggest_at:
            target = count(project, batches) + n
            killed = kill_mid_way([*CLHS, "suggest", *workers], project, batches, target)
            rows.append(describe(f"suggest killed after {n} batch(es)", killed, check(project)))
        code, seconds, last = run([*CLHS, "suggest", *workers])
        print(f"suggest run again: exit {code} in {seconds:.1f} s: {last}")
        print(f"  project after it: {check(project)}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"\n{'kill -9 of the main process':<36} {'left 0.5 s':>10} {'1 s':>4} {'5 s':>4} {'all gone':>9} "
        f"{'zombies':>8} {'project fine':>13}"
    )
    for label, *figures in rows:
        print(
            f"{label:<36} {figures[0]!s:>10} {figures[1]!s:>4} {figures[2]!s:>4} {figures[3]!s:>9} "
            f"{figures[4]!s:>8} {figures[5]:>13}"
        )
    print(f"goal: 0 left after 5 s. Whole run {time.perf_counter() - started:.0f} s on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
