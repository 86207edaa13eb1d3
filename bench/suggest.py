"""The suggestion pass against the raw spaCy pipeline, and the incremental update the app uses.

Builds a project of SEGMENTS codable segments (distinct texts: one to three sentences of the shipped
gold data each), trains
the ensemble (codebook examples + gold training data), then measures in the same run:
1. the raw spaCy pipeline (blank en + sentencizer + lookup lemmatizer) over the segment texts;
2. the whole suggestion pass: cues, similarity, classifier, ensemble, evidence, storing;
3. the review page's incremental update (``assist.LiveScores``): built once, then updated with
   5,000 decisions at once, then after batches of 25 decisions (the app's case), each update
   rescoring every codable segment of the documents under review, in context, for the codes
   that got new decisions;
4. a full refit of the ensemble with those decisions.

Usage: python bench/suggest.py [--segments 100000] [--workers N]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np


def make_transcripts(directory: Path, segments: int, seed: int = 3) -> None:
    """Transcripts whose participant turns are one segment each: one to three sentences drawn at
    random from the gold training texts, so nearly every segment's text is distinct (spaCy and
    the cue matcher really run on each; a cache by text would flatter repeated texts)."""
    import re

    from clhs_mechanisms.shipped import shipped_corpus_path

    rng = random.Random(seed)
    texts = [row["text"].replace("\n", " ") for row in _gold(shipped_corpus_path() / "gold" / "train.jsonl")]
    sentences = [s for t in texts for s in re.split(r"(?<=[.!?])\s+", t) if len(s.split()) > 3]
    directory.mkdir(parents=True)
    per_file = 500
    for f in range(0, segments, per_file):
        body = []
        for _ in range(min(per_file, segments - f)):
            body.append("Interviewer: Can you say more?")
            said = " ".join(rng.choice(sentences) for _ in range(rng.randint(1, 3)))
            body.append(f"P{f // per_file:04d}: {said}")
        (directory / f"t{f // per_file:04d}.txt").write_text("\n".join(body) + "\n", encoding="utf-8")


def _gold(path: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument(
        "--workers", type=int, default=None, help="scoring processes (default: the toolkit's)"
    )
    args = parser.parse_args()

    from clhs_mechanisms import Project, import_paths
    from clhs_mechanisms.assist import LiveScores, suggest, train
    from clhs_mechanisms.codebook import load_codebook, shipped_codebook_path
    from clhs_mechanisms.nlp import build_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_transcripts(root / "corpus", args.segments)
        project = Project.init(root / "proj", load_codebook(shipped_codebook_path()))
        list(import_paths(project, [root / "corpus"], kind="interview"))
        segs = project.segments(codable_only=True)
        texts = segs["text"].tolist()
        # the cue matcher caches spaCy's work by text: say how many texts are distinct
        print(
            f"{len(texts):,} codable segments ({len(set(texts)):,} distinct texts), "
            f"{sum(len(t.split()) for t in texts):,} words"
        )

        t0 = time.perf_counter()
        model = train(project)
        print(
            f"ensemble fit on {model.n_training:,} texts (codebook + gold): {time.perf_counter() - t0:.1f} s"
        )

        nlp = build_pipeline(lemmatizer=True)
        t0 = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=256):
            pass
        raw = time.perf_counter() - t0
        print(f"raw spaCy pipeline (sentencizer + lookup lemmatizer): {len(texts) / raw:,.0f} segments/s")

        t0 = time.perf_counter()
        report = suggest(project, workers=args.workers)
        seconds = time.perf_counter() - t0
        print(
            f"suggestion pass ({'default' if args.workers is None else args.workers} scoring processes): "
            f"{report.suggestions:,} suggestions for {report.segments:,} segments in "
            f"{seconds:.1f} s = {report.segments / seconds:,.0f} segments/s = {raw / seconds:.2f}x the raw "
            f"pipeline's throughput; 100k segments would take {100_000 * seconds / report.segments:.0f} s "
            "(goal < 60 s)"
        )

        # The review page's incremental update (LiveScores), as the app runs it.
        t0 = time.perf_counter()
        live = LiveScores(project)
        live.update(project)
        print(
            f"live scores built for {len(live.segment_ids):,} codable segments of the documents under "
            "review: "
            f"{time.perf_counter() - t0:.1f} s (once per model, in the background)"
        )
        rng = np.random.default_rng(0)
        undecided = list(rng.permutation(project.suggestions()["id"].to_numpy()))

        def decide(n: int) -> None:
            for _ in range(n):
                project.decide(
                    str(undecided.pop()), "accept" if rng.random() < 0.4 else "reject", coder="bench"
                )

        decide(5000)
        t0 = time.perf_counter()
        live.update(project)
        print(
            f"incremental update applying 5,000 new decisions at once + rescore of {len(live.segment_ids):,} "
            f"segments: {time.perf_counter() - t0:.2f} s"
        )
        times = []
        for _ in range(5):
            decide(25)
            t0 = time.perf_counter()
            live.update(project)
            times.append(time.perf_counter() - t0)
        print(
            "incremental update after a batch of 25 decisions (the app's case; 5,000+ decisions in "
            "the project, "
            f"{len(live.segment_ids):,} segments rescored): median {np.median(times):.2f} s, "
            f"max {max(times):.2f} s of 5 (goal < 1 s)"
        )

        t0 = time.perf_counter()
        model = train(project)
        print(
            f"full ensemble refit on {model.n_training:,} texts (codebook + gold + 5,125 decisions): "
            f"{time.perf_counter() - t0:.1f} s (goal < 30 s)"
        )
        project.close()


if __name__ == "__main__":
    main()
