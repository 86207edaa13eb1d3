"""Import throughput and memory against the raw spaCy pipeline, measured in the same run.

Generates a synthetic transcript corpus (default 2 million words), then
1. runs the segmentation pipeline alone (``nlp.pipe`` over the same turn texts, one
   process): the baseline;
2. imports growing parts of the corpus into fresh projects (read, decode, segment, store;
   one reader process per CPU, each storing in its turn), each in a fresh process, and
   prints each one's time, CPU time (the importing process and its reader processes) and
   peak RSS, to show whether memory stays flat (streaming) as the corpus grows;
3. repeats baseline + whole import ``--repeat`` times in all and prints the ratio of each
   pair (median, worst, best): the machine's speed drifts between minutes, so each import
   is compared with a baseline run right before it;
4. imports the whole corpus once more with ``workers=0`` (everything in one process), for
   comparison.

Usage: python bench/ingest.py [--words 2000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = (
    "network registry coach family centre data chart team we they I really think because so "
    "the a of to and in that it was for on with as our my their time visit care patients parents "
    "learning improvement shared toolkit dashboard community support help nurse doctor study"
).split()


def make_corpus(directory: Path, total_words: int, words_per_file: int = 5000, seed: int = 7) -> int:
    """Write transcripts of ~words_per_file words each; returns the number of words written."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    written, n = 0, 0
    while written < total_words:
        lines, count = [], 0
        while count < words_per_file:
            speaker = "Interviewer" if len(lines) % 2 == 0 else f"P{n:03d}"
            sentences = []
            for _ in range(rng.randint(1, 8) if speaker != "Interviewer" else 1):
                k = rng.randint(5, 20)
                sentences.append(
                    " ".join(rng.choice(WORDS) for _ in range(k)).capitalize() + rng.choice(".?!")
                )
                count += k
            lines.append(f"{speaker}: {' '.join(sentences)}")
        (directory / f"t{n:05d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        written += count
        n += 1
    return written


def baseline(directory: Path, *, lemmatizer: bool = False) -> tuple[int, float, float]:
    """Words, seconds and CPU seconds for a spaCy pipeline alone over the same turn texts.

    ``lemmatizer=False`` is exactly the pipeline the import runs (segmentation needs
    sentences only); ``True`` adds the lookup lemmatizer, for context.
    """
    from clhs_mechanisms.corpus import read_document
    from clhs_mechanisms.nlp import build_pipeline

    nlp = build_pipeline(lemmatizer=lemmatizer)
    texts = []
    for path in sorted(directory.glob("*.txt")):
        doc = read_document(path)
        texts.extend(doc.text[t.start : t.end] for t in doc.turns)
    words = sum(len(t.split()) for t in texts)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in nlp.pipe(texts, batch_size=256):
        pass
    return words, time.perf_counter() - t0, time.process_time() - c0


def run_import(directory: Path, project_dir: Path, workers: int | None) -> dict:
    """Words, seconds, CPU seconds and peak RSS (MiB) of a full import into a fresh project."""
    from clhs_mechanisms import Project, import_paths
    from clhs_mechanisms.codebook import load_codebook, shipped_codebook_path
    from clhs_mechanisms.segment import Segmenter

    def cpu() -> float:
        own, readers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + readers.ru_utime + readers.ru_stime

    project = Project.init(project_dir, load_codebook(shipped_codebook_path()))
    segmenter = Segmenter()  # built before the clock starts, as the baseline's pipeline is (~0.2 s)
    t0, c0 = time.perf_counter(), cpu()
    words = sum(r.words for r in import_paths(project, [directory], workers=workers, segmenter=segmenter))
    seconds = time.perf_counter() - t0
    while multiprocessing.active_children():  # reap the reader processes, so their CPU time is counted
        time.sleep(0.01)
    cpu_seconds = cpu() - c0
    project.close()
    return {
        "words": words,
        "seconds": seconds,
        "cpu": cpu_seconds,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "reader_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _child(corpus: Path, project: Path, workers: int | None) -> dict:
    args = [sys.executable, __file__, "--child", str(corpus), str(project)]
    if workers is not None:
        args += ["--workers", str(workers)]
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the baseline and of the full import")
    parser.add_argument("--child", nargs=2, metavar=("CORPUS", "PROJECT"), help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_import(Path(args.child[0]), Path(args.child[1]), args.workers)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        total = make_corpus(root / "corpus", args.words)
        print(
            f"synthetic corpus: {total:,} words in {len(list((root / 'corpus').glob('*.txt')))} transcripts; "
            f"{os.cpu_count()} CPUs"
        )

        words, seconds, cpu = baseline(root / "corpus")
        print(
            f"raw spaCy pipeline (nlp.pipe, sentencizer, one process): {words:,} words in {seconds:.1f} s "
            f"= {words / seconds:,.0f} words/s ({cpu:.1f} CPU s)"
        )
        _, lem_seconds, _ = baseline(root / "corpus", lemmatizer=True)
        print(f"  for context, with the lookup lemmatizer: {words / lem_seconds:,.0f} words/s")

        results = []
        files = sorted((root / "corpus").glob("*.txt"))
        for fraction in (0.25, 0.5, 1.0):
            sub = root / f"part{fraction}"
            sub.mkdir()
            for f in files[: max(1, int(len(files) * fraction))]:
                (sub / f.name).symlink_to(f)
            # reader processes at every size (small parts would import in one process by default)
            results.append(_child(sub, root / f"proj{fraction}", os.cpu_count()))
        for r in results:
            print(
                f"import {r['words']:>10,} words: {r['seconds']:6.1f} s = "
                f"{r['words'] / r['seconds']:>9,.0f} words/s, "
                f"{r['cpu']:5.1f} CPU s; peak RSS {r['rss']:4.0f} MiB (reader processes "
                f"{r['reader_rss']:4.0f} MiB)"
            )
        # This machine's speed drifts by tens of percent from minute to minute, so the goal is
        # judged on pairs: a baseline run right before each full import, ratio per pair.
        pairs = []
        for i in range(max(1, args.repeat)):
            _, b_seconds, b_cpu = baseline(root / "corpus")
            pairs.append(
                (b_seconds, b_cpu, _child(root / "part1.0", root / f"proj-again{i}", os.cpu_count()))
            )
        ratios = sorted(b / r["seconds"] for b, _, r in pairs)
        b_seconds, b_cpu, full = min(pairs, key=lambda p: p[0] / p[2]["seconds"])  # the worst pair
        alone = _child(root / "part1.0", root / "proj-alone", 0)
        # Same corpus, same texts: the throughput ratio is the ratio of the two wall times.
        print(
            f"import throughput against the raw pipeline, {len(ratios)} pairs of runs: median "
            f"{statistics.median(ratios):.2f}x, worst {ratios[0]:.2f}x, best {ratios[-1]:.2f}x (goal "
            ">= 0.5x); "
            f"{lem_seconds / results[-1]['seconds']:.2f}x the pipeline with lemmatizer"
        )
        print(
            f"  CPU time: the import costs {full['cpu'] / b_cpu:.2f}x the raw pipeline's CPU time in "
            "the worst pair "
            f"(reading, segmenting, storing, process overhead)"
        )
        print(
            f"  everything in one process (workers=0): {alone['seconds']:.1f} s = "
            f"{seconds / alone['seconds']:.2f}x the raw pipeline"
        )
        print(
            f"peak RSS growth from {results[0]['words']:,} to {full['words']:,} words: "
            f"{full['rss'] / results[0]['rss']:.2f}x in the importing process, "
            f"{full['reader_rss'] / max(1, results[0]['reader_rss']):.2f}x in the readers (flat = 1.0x)"
        )


if __name__ == "__main__":
    main()
