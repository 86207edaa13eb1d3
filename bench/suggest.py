"""The suggestion pass against the raw spaCy pipeline, and the incremental update the app uses.

Builds a project of SEGMENTS codable segments from sentences of the shipped corpus, trains
the ensemble (codebook examples + gold training data), then measures in the same run:
1. the raw spaCy pipeline (blank en + sentencizer + lookup lemmatizer) over the segment texts;
2. the whole suggestion pass: cues, similarity, classifier, ensemble, evidence, storing;
3. the classifier's incremental update with 5,000 decisions and a rescore of every cached segment;
4. a full refit of the ensemble.

Usage: python bench/suggest.py [--segments 100000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np


def make_transcripts(directory: Path, segments: int, seed: int = 3) -> None:
    """Transcripts whose participant turns are one segment each, from real corpus sentences."""
    from clhs_mechanisms.demo import shipped_corpus_path

    rng = random.Random(seed)
    lines = [json_line["text"] for json_line in _gold(shipped_corpus_path() / "gold" / "train.jsonl")]
    directory.mkdir(parents=True)
    per_file = 500
    for f in range(0, segments, per_file):
        body = []
        for _ in range(min(per_file, segments - f)):
            body.append("Interviewer: Can you say more?")
            body.append(f"P{f // per_file:04d}: {rng.choice(lines).replace(chr(10), ' ')}")
        (directory / f"t{f // per_file:04d}.txt").write_text("\n".join(body) + "\n", encoding="utf-8")


def _gold(path: Path) -> list[dict]:
    import json
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=100_000)
    args = parser.parse_args()

    from clhs_mechanisms import Project, import_paths
    from clhs_mechanisms.assist import suggest, train, training_set
    from clhs_mechanisms.codebook import load_codebook, shipped_codebook_path
    from clhs_mechanisms.nlp import build_pipeline
    from clhs_mechanisms.suggest import TrainingSet, make_suggester

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_transcripts(root / "corpus", args.segments)
        project = Project.init(root / "proj", load_codebook(shipped_codebook_path()))
        list(import_paths(project, [root / "corpus"], kind="interview"))
        segs = project.segments(codable_only=True)
        texts = segs["text"].tolist()
        # the cue matcher caches spaCy's work by text: say how many texts are distinct
        print(f"{len(texts):,} codable segments ({len(set(texts)):,} distinct texts), "
              f"{sum(len(t.split()) for t in texts):,} words")

        t0 = time.perf_counter()
        model = train(project)
        fit_seconds = time.perf_counter() - t0
        print(f"full ensemble fit on {model.n_training:,} texts: {fit_seconds:.1f} s (goal < 30 s)")

        nlp = build_pipeline(lemmatizer=True)
        t0 = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=256):
            pass
        raw = time.perf_counter() - t0
        print(f"raw spaCy pipeline (sentencizer + lookup lemmatizer): {len(texts) / raw:,.0f} segments/s")

        t0 = time.perf_counter()
        report = suggest(project)
        seconds = time.perf_counter() - t0
        print(f"suggestion pass: {report.suggestions:,} suggestions for {report.segments:,} segments in "
              f"{seconds:.1f} s = {report.segments / seconds:,.0f} segments/s = {raw / seconds:.2f}x the raw "
              f"pipeline's throughput; 100k segments would take {100_000 * seconds / report.segments:.0f} s "
              "(goal < 60 s)")

        codebook = project.codebook
        classifier = make_suggester("classifier", codebook).fit(training_set(project))
        t0 = time.perf_counter()
        X = classifier.transform_cache(texts)
        print(f"feature cache for {len(texts):,} pending segments: {time.perf_counter() - t0:.1f} s (once)")
        rng = np.random.default_rng(0)
        idx = rng.choice(len(texts), size=min(5000, len(texts)), replace=False)
        rows = [{"text": texts[i], "role": None, "code": codebook.code_ids[int(rng.integers(len(codebook)))],
                 "label": int(rng.integers(2))} for i in idx]
        decisions = TrainingSet.from_decisions(rows, codebook)
        X_decided = classifier.transform_cache(decisions.texts)
        t0 = time.perf_counter()
        classifier.partial_update(decisions, X_decided)
        classifier.score_cached(X)
        live = time.perf_counter() - t0
        print(f"incremental update with {len(rows):,} decisions + rescore of {len(texts):,} segments: "
              f"{live:.2f} s (goal < 1 s)")
        project.close()


if __name__ == "__main__":
    main()
