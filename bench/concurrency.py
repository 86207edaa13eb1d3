"""Reviewers, a suggestion pass and an import at the same time on one project (SQLite).

Builds a project in a temporary folder (``clhs init``; DOCUMENTS shipped interviews imported; ``clhs
train`` on the codebook's examples only, in seconds, or with ``--gold`` on the shipped gold data too,
about a minute; ``clhs suggest``), then runs at once, each in its own OS process:

- REVIEWERS reviewers deciding suggestions through ``ReviewSession.decide`` (what ``clhs decide``
  and the app's Review page call; it calls ``Project.decide``), each under its own coder name, half
  of them names never used before, whose first decisions come at the same instant: each reads the
  review queue (``assist.queue``, mode uncertain), decides WINDOW of its first REVIEWERS x WINDOW
  items in its own random order (40% accept), sleeping PAUSE s after each, then reads the queue
  again;
- one ``clhs suggest`` (a full re-scoring pass of the project's model);
- one ``clhs import`` of FILES new small transcripts (shortened copies of the shipped ``.txt``
  interviews under new names) with IMPORT_WORKERS reader processes.

The reviewers stop when suggest and import have both ended. Prints decisions attempted, made, refused
as already decided, refused otherwise (each message, its ids and times masked, with its count), the
time of one decision (p50, p99, max; reading the item before it is not counted), resurrected pairs
(a (segment, code) decided by a human that has a pending suggestion at the end), pairs decided twice,
the two commands' exit codes and ``PRAGMA integrity_check``.

Usage: python bench/concurrency.py [--reviewers 8] [--files 200] [--documents 40] [--import-workers 2]
       [--window 25] [--pause 0.1] [--gold] [--keep]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

CLHS = [shutil.which("clhs", path=str(Path(sys.executable).parent)) or "clhs"]  # the venv's own
ALREADY = "was already decided"


def clhs(*args: str, project: Path) -> subprocess.CompletedProcess:
    """Run one ``clhs`` command to its end; refuses to go on if it fails (setup only)."""
    done = subprocess.run([*CLHS, *args, "--project", str(project)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"clhs {args[0]} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done


def masked(message: str) -> str:
    """A refusal's message with its ids, times and names masked, so equal causes count together."""
    message = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", message)
    message = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+(\+00:00)?", "<time>", message)
    return re.sub(r" by reviewer-\d+ ", " by <coder> ", message)


def make_bulk(directory: Path, files: int, seed: int = 11) -> int:
    """``files`` small transcripts: the first 10-30 lines of a shipped ``.txt`` interview after a line
    that names the copy, under a new name each; returns their bytes."""
    from clhs_mechanisms.shipped import shipped_corpus_path

    rng = random.Random(seed)
    sources = sorted((shipped_corpus_path() / "interviews").glob("*.txt"))
    directory.mkdir(parents=True)
    size = 0
    for i in range(files):
        src = sources[i % len(sources)]
        lines = src.read_text(encoding="utf-8").splitlines()[: rng.randint(10, 30)]
        text = "\n".join([f"Interviewer: This is copy {i} of {src.stem}.", *lines]) + "\n"
        size += (directory / f"bulk{i:04d}_{src.stem}.txt").write_text(text, encoding="utf-8")
    return size


def review(directory: str, coder: str, seed: int, pace: tuple, events: tuple, out: str) -> None:
    """One reviewer process: decide suggestions from the review queue until ``stop`` is set (``pace``:
    reviewers, window, pause); its figures go to ``out`` (JSON)."""
    import json

    from clhs_mechanisms import Project
    from clhs_mechanisms.assist import queue
    from clhs_mechanisms.review import ReviewSession

    reviewers, window, pause = pace
    ready, go, stop = events
    rng = random.Random(seed)
    project = Project.open(directory)
    session = ReviewSession(project, coder)
    project.status()  # connected and warm before the clock starts
    log: dict = {"coder": coder, "attempted": 0, "made": 0, "already": 0, "waits": [], "refused": []}
    ready.release()
    go.wait()
    start = time.perf_counter()
    while not stop.is_set():
        rows = queue(project, mode="uncertain", limit=reviewers * window)
        if rows.empty:
            time.sleep(pause)
            continue
        for i in rng.sample(range(len(rows)), min(window, len(rows))):
            if stop.is_set():
                break
            item = session.item(rows.iloc[i])  # the suggestion with its context, as the CLI and app read it
            action = "accept" if rng.random() < 0.4 else "reject"
            t0 = time.perf_counter()
            try:
                error = session.decide(item, action).refused
            except Exception as exc:  # escaped the library's one-line errors: a bug, counted as a refusal
                error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            log["waits"].append(time.perf_counter() - t0)
            log["attempted"] += 1
            if error is None:
                log["made"] += 1
            elif ALREADY in error:
                log["already"] += 1
            else:
                log["refused"].append((round(t0 - start, 2), masked(error)))
            time.sleep(pause)
    project.close()
    Path(out).write_text(json.dumps(log), encoding="utf-8")


def setup(root: Path, documents: int, reviewers: int, gold: bool) -> Path:
    """A project with DOCUMENTS shipped interviews, a trained model, pending suggestions, and the first
    half of the reviewers' names already known."""
    from clhs_mechanisms import Project
    from clhs_mechanisms.shipped import shipped_corpus_path

    interviews = shipped_corpus_path() / "interviews"
    chosen = sorted(p for p in interviews.iterdir() if p.name != "attributes.csv")[:documents]
    project = root / "project"
    (root / "none.jsonl").write_text("", encoding="utf-8")
    steps = [
        ("init", [str(project)]),
        ("import", [*map(str, chosen), "--attributes", str(interviews / "attributes.csv")]),
        ("train", [] if gold else ["--gold", str(root / "none.jsonl")]),
        ("suggest", []),
    ]
    for name, args in steps:
        t0 = time.perf_counter()
        if name == "init":
            subprocess.run([*CLHS, "init", *args], check=True, capture_output=True)
        else:
            clhs(name, *args, project=project)
        print(f"setup: clhs {name} {time.perf_counter() - t0:.1f} s")
    with Project.open(project) as p:
        for k in range(reviewers // 2):
            p.coder_id(f"reviewer-{k + 1}")
        info = p.status()
    print(
        f"project: {info['documents']} documents, {info['codable_segments']:,} codable segments, "
        f"{info['pending_suggestions']:,} pending suggestions; reviewer-1..{reviewers // 2} known, "
        f"reviewer-{reviewers // 2 + 1}..{reviewers} new"
    )
    return project


def run_together(args: argparse.Namespace, project: Path, bulk: Path, logs: Path) -> dict:
    """Start the reviewers, then suggest and import together; the reviewers stop when both have ended."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, stop = ctx.Semaphore(0), ctx.Event(), ctx.Event()
    procs = [
        ctx.Process(
            target=review,
            args=(
                str(project),
                f"reviewer-{k + 1}",
                k,
                (args.reviewers, args.window, args.pause),
                (ready, go, stop),
                str(logs / f"reviewer-{k + 1}.json"),
            ),
        )
        for k in range(args.reviewers)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    go.set()
    t0 = time.perf_counter()
    (logs / "go").write_text(datetime.now(UTC).isoformat(timespec="milliseconds"), encoding="utf-8")
    commands = {
        "suggest": [*CLHS, "suggest", "--project", str(project)],
        "import": [
            *CLHS,
            "import",
            str(bulk),
            "--workers",
            str(args.import_workers),
            "--project",
            str(project),
        ],
    }
    running = {
        name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, cmd in commands.items()
    }
    seconds = {}
    while len(seconds) < len(running):
        for name, proc in running.items():
            if name not in seconds and proc.poll() is not None:
                seconds[name] = time.perf_counter() - t0
        time.sleep(0.05)
    ended = {}
    for name, proc in running.items():
        out, err = proc.communicate()  # small outputs: the pipes never fill
        last = (out.strip() or err.strip()).splitlines()[-1:] or [""]
        ended[name] = (proc.returncode, seconds[name], last[0][:200])
    stop.set()
    for p in procs:
        p.join()
        if p.exitcode != 0:
            print(f"a reviewer process failed (exit {p.exitcode}): its figures are missing")
    return ended


def pairs(frame) -> set[tuple[str, str]]:
    return set(zip(frame["segment_id"], frame["code"]))


def analyse(project: Path, logs: Path) -> dict:
    """Counts from the reviewers' logs and from the project after the run."""
    import json

    from clhs_mechanisms import Project

    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(logs.glob("reviewer-*.json"))]
    waits = np.array([w for r in runs for w in r["waits"]]) * 1000
    refused = Counter(m for r in runs for _, m in r["refused"])
    first = {m: min(t for r in runs for t, n in r["refused"] if n == m) for m in refused}
    with Project.open(project) as p:
        decided = p.suggestions(status="decided")
        pending = p.suggestions(status="pending")
        decisions = p.decisions()
        info = p.status()
        audit = p.audit_log()
    go = (logs / "go").read_text(encoding="utf-8")
    batches = sorted(audit.loc[(audit["action"] == "suggest") & (audit["at"] >= go), "at"])
    seconds = [(datetime.fromisoformat(t) - datetime.fromisoformat(go)).total_seconds() for t in batches]
    during = int(
        ((decisions["created_at"] >= go) & (decisions["created_at"] <= max(batches, default=go))).sum()
    )
    resurrected = pairs(decided) & pairs(pending)
    made_at = dict(zip(decisions["suggestion_id"], decisions["created_at"]))
    decided = decided.assign(decided_at=decided["id"].map(made_at))
    when = {(s, c): t for s, c, t in zip(decided["segment_id"], decided["code"], decided["decided_at"])}
    after = sum(
        1
        for s, c, t in zip(pending["segment_id"], pending["code"], pending["created_at"])
        if (s, c) in resurrected and t > when[(s, c)]
    )
    twice = sum(1 for n in Counter(zip(decided["segment_id"], decided["code"])).values() if n > 1)
    with sqlite3.connect(project / "project.db") as db:
        integrity = "; ".join(r[0] for r in db.execute("PRAGMA integrity_check"))
        fk = len(db.execute("PRAGMA foreign_key_check").fetchall())
    return dict(
        runs=runs,
        waits=waits,
        refused=refused,
        first=first,
        resurrected=len(resurrected),
        after=after,
        twice=twice,
        integrity=integrity,
        fk=fk,
        info=info,
        coders=sorted(set(decisions["coder"])),
        batches=seconds,
        during=during,
    )


def report(args: argparse.Namespace, ended: dict, a: dict) -> None:
    runs = a["runs"]
    attempted = sum(r["attempted"] for r in runs)
    made = sum(r["made"] for r in runs)
    already = sum(r["already"] for r in runs)
    other = sum(a["refused"].values())
    waits = a["waits"]
    print()
    for name, (code, seconds, last) in ended.items():
        print(f"clhs {name}: exit {code} after {seconds:.1f} s: {last}")
    if a["batches"]:
        print(
            f"suggest stored {len(a['batches'])} batches {a['batches'][0]:.1f}-{a['batches'][-1]:.1f} s "
            f"after the start; {a['during']:,} decisions were made before its last batch"
        )
    print(f"reviewers that decided at least once: {len(a['coders'])} of {args.reviewers}")
    rows = [
        ("reviewers / files imported", f"{args.reviewers} / {args.files}", ""),
        ("decisions attempted", f"{attempted:,}", ""),
        ("  made", f"{made:,}", ""),
        ("  refused: already decided", f"{already:,}", ""),
        ("  refused: any other reason", f"{other:,}", "0"),
        ("resurrected pairs (decided, pending again)", f"{a['resurrected']:,}", "0"),
        ("  of which suggested after the decision", f"{a['after']:,}", ""),
        ("(segment, code) pairs decided twice", f"{a['twice']:,}", ""),
        (
            "decision wait p50 / p99 / max",
            f"{np.percentile(waits, 50):.0f} / {np.percentile(waits, 99):.0f} / {waits.max():.0f} ms"
            if len(waits)
            else "-",
            "",
        ),
        ("PRAGMA integrity_check", a["integrity"], "ok"),
        ("foreign key violations", str(a["fk"]), "0"),
        ("documents at the end", f"{a['info']['documents']:,}", f"{args.documents + args.files:,}"),
    ]
    print(f"\n{'':<44} {'figure':>22}  goal")
    for label, figure, goal in rows:
        print(f"{label:<44} {figure:>22}  {goal}")
    if a["refused"]:
        print("\nrefusals other than 'already decided' (count, first after the start, message):")
        for message, n in a["refused"].most_common():
            print(f"  {n:>5}  {a['first'][message]:6.1f} s  {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewers", type=int, default=8)
    parser.add_argument("--files", type=int, default=200, help="new transcripts imported meanwhile")
    parser.add_argument("--documents", type=int, default=40, help="shipped interviews in the project first")
    parser.add_argument("--import-workers", type=int, default=2, help="reader processes of the import")
    parser.add_argument("--window", type=int, default=25, help="decisions between two reads of the queue")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds a reviewer waits after a decision")
    parser.add_argument("--gold", action="store_true", help="train on the shipped gold data too (slower)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project and print its path")
    args = parser.parse_args()

    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="clhs-concurrency-"))
    try:
        project = setup(root, args.documents, args.reviewers, args.gold)
        size = make_bulk(root / "bulk", args.files)
        print(f"import input: {args.files} transcripts, {size / 1e6:.1f} MB")
        (root / "logs").mkdir()
        ended = run_together(args, project, root / "bulk", root / "logs")
        report(args, ended, analyse(project, root / "logs"))
    finally:
        if args.keep:
            print(f"\nkept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nwhole run {time.perf_counter() - started:.0f} s on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
