"""Server-side time of every page of the review app on a large project.

Builds a project of SEGMENTS segments (default 100,000) with CODINGS codings (20,000) and
as many pending suggestions, then runs each page with Streamlit's AppTest (the same
script run a browser triggers, without the browser) and prints the warm render time,
plus the time for the next review item to appear after "Skip".

With ``--project DIR`` (e.g. a built demo, which has a trained model) it instead times the first
decision after a restart on a copy of that project: empty caches, the Review page opened, Accept
clicked, until the next item shows (goal < 2 s).

Usage: python bench/app.py [--segments 100000] [--codings 20000] | --project DIR
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "clhs_mechanisms" / "app" / "views"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--codings", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--project", type=Path, help="time the first decision after a restart on a copy of DIR"
    )
    args = parser.parse_args()
    if args.project:
        first_decision(args.project)
        return

    sys.path.insert(0, str(ROOT / "bench"))
    from streamlit.testing.v1 import AppTest
    from suggest import make_transcripts  # bench/suggest.py: transcripts from corpus sentences

    from clhs_mechanisms import Project, import_paths
    from clhs_mechanisms.codebook import load_codebook, shipped_codebook_path

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        make_transcripts(root / "corpus", args.segments)
        project = Project.init(root / "proj", load_codebook(shipped_codebook_path()))
        list(import_paths(project, [root / "corpus"], kind="interview"))
        segs = project.segments(codable_only=True)
        codes = project.codebook.code_ids
        rng = random.Random(1)
        picks = segs.sample(n=min(args.codings, len(segs)), random_state=1)
        with project.exchange_transaction() as conn:
            for row in picks.itertuples():
                project.add_coding(
                    row.document,
                    int(row.start),
                    int(row.end),
                    rng.choice(codes),
                    coder=rng.choice(["ana", "ben"]),
                    conn=conn,
                )
        pending = segs.sample(n=min(args.codings, len(segs)), random_state=2)
        project.add_suggestions(
            [
                {
                    "segment_id": r.id,
                    "code": rng.choice(codes),
                    "score": rng.random(),
                    "components": {"threshold": 0.5},
                    "evidence": [],
                }
                for r in pending.itertuples()
            ],
            method="ensemble",
            model_version="bench",
        )
        info = project.status()
        print(
            f"project: {info['segments']:,} segments ({info['codable_segments']:,} codable), "
            f"{info['codings']:,} codings, "
            f"{info['pending_suggestions']:,} pending suggestions (built in {time.perf_counter() - t0:.0f} s)"
        )
        os.environ["CLHS_PROJECT"] = str(project.directory)

        def timed(page: str | None, prepare=None) -> tuple[float, AppTest]:
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
            at.session_state["coder"] = "ana"
            at.run()
            if page:
                at.switch_page(str(PAGES / page))
                at.run()
            if prepare:
                prepare(at)
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                at.run()
                times.append(time.perf_counter() - t)
            assert not at.exception, at.exception
            return statistics.median(times), at

        for page in [
            "review.py",
            "documents.py",
            "codebook.py",
            "cooccurrence.py",
            "agreement.py",
            "export.py",
        ]:
            seconds, _ = timed(page)
            print(f"{page:<18} {seconds * 1000:8.0f} ms per render (goal < 1000 ms)")
        _, at = timed("review.py")
        t = time.perf_counter()
        next(b for b in at.button if b.label == "Skip").click().run()
        print(f"next review item after Skip: {(time.perf_counter() - t) * 1000:.0f} ms (goal < 200 ms)")
        project.close()


def first_decision(source: Path) -> None:
    """Open the Review page with nothing cached (as after a restart) and accept the first item."""
    import shutil

    from streamlit.testing.v1 import AppTest

    from clhs_mechanisms import Project

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "proj"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("session.key"))
        with Project.open(copy) as project:
            before = len(project.decisions())
        os.environ["CLHS_PROJECT"] = str(copy)
        sys.argv = sys.argv[:1]  # the app reads --project from the command line first: not this script's
        t = time.perf_counter()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.session_state["coder"] = "bench"
        at.run()
        opened = time.perf_counter() - t
        t = time.perf_counter()
        next(b for b in at.button if b.label == "Accept").click().run()
        decided = time.perf_counter() - t
        assert not at.exception, at.exception
        with Project.open(copy) as project:
            made = len(project.decisions()) - before
        print(
            f"after a restart: Review page {opened * 1000:.0f} ms, first Accept to next item "
            f"{decided * 1000:.0f} ms (goal < 2000 ms; {made} decision stored)"
        )


if __name__ == "__main__":
    main()
