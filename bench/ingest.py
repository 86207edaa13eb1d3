"""Import throughput and memory against the raw spaCy pipeline, measured in the same run.

Generates a synthetic transcript corpus (default 2 million words), then
1. runs the segmentation pipeline alone (``nlp.pipe`` over the same turn texts): the baseline;
2. imports the corpus into a fresh project (read, decode, segment, store);
3. repeats the import in fresh processes for growing corpus sizes and prints each
   one's peak RSS, to show whether memory stays flat (streaming) as the corpus grows.

Usage: python bench/ingest.py [--words 2000000] [--out DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("network registry coach family centre data chart team we they I really think because so "
         "the a of to and in that it was for on with as our my their time visit care patients parents "
         "learning improvement shared toolkit dashboard community support help nurse doctor study").split()


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
                sentences.append(" ".join(rng.choice(WORDS) for _ in range(k)).capitalize() + rng.choice(".?!"))
                count += k
            lines.append(f"{speaker}: {' '.join(sentences)}")
        (directory / f"t{n:05d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        written += count
        n += 1
    return written


def baseline(directory: Path, *, lemmatizer: bool = False) -> tuple[int, float]:
    """Words and seconds for a spaCy pipeline alone over the same turn texts.

    ``lemmatizer=False`` is exactly the pipeline the import runs (segmentation needs
    sentences only); ``True`` adds the lookup lemmatizer, for context.
    """
    from clhs_mechanisms.corpus import read_document
    from clhs_mechanisms.nlp import build_pipeline

    nlp = build_pipeline(lemmatizer=lemmatizer)
    texts = []
    for path in sorted(directory.glob("*.txt")):
        doc = read_document(path)
        texts.extend(doc.text[t.start:t.end] for t in doc.turns)
    words = sum(len(t.split()) for t in texts)
    t0 = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=256):
        pass
    return words, time.perf_counter() - t0


def run_import(directory: Path, project_dir: Path) -> tuple[int, float, float]:
    """Words, seconds and peak RSS (MiB) of a full import into a fresh project."""
    from clhs_mechanisms import Project, import_paths
    from clhs_mechanisms.codebook import load_codebook, shipped_codebook_path

    project = Project.init(project_dir, load_codebook(shipped_codebook_path()))
    t0 = time.perf_counter()
    words = sum(r.words for r in import_paths(project, [directory]))
    seconds = time.perf_counter() - t0
    project.close()
    return words, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=2_000_000)
    parser.add_argument("--child", nargs=2, metavar=("CORPUS", "PROJECT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        words, seconds, rss = run_import(Path(args.child[0]), Path(args.child[1]))
        print(f"{words} {seconds} {rss}")
        return

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        total = make_corpus(root / "corpus", args.words)
        print(f"synthetic corpus: {total:,} words in {len(list((root / 'corpus').glob('*.txt')))} transcripts")

        words, seconds = baseline(root / "corpus")
        raw = words / seconds
        print(f"raw spaCy pipeline (nlp.pipe, sentencizer): {words:,} words in {seconds:.1f} s = {raw:,.0f} words/s")
        _, lem_seconds = baseline(root / "corpus", lemmatizer=True)
        print(f"  for context, with the lookup lemmatizer: {words / lem_seconds:,.0f} words/s")

        results = []
        for fraction in (0.25, 0.5, 1.0):
            sub = root / f"part{fraction}"
            sub.mkdir()
            files = sorted((root / "corpus").glob("*.txt"))
            for f in files[: max(1, int(len(files) * fraction))]:
                (sub / f.name).symlink_to(f)
            out = subprocess.run([sys.executable, __file__, "--child", str(sub), str(root / f"proj{fraction}")],
                                 check=True, capture_output=True, text=True).stdout.split()
            results.append((int(out[0]), float(out[1]), float(out[2])))
        for w, s, rss in results:
            print(f"import {w:>10,} words: {s:6.1f} s = {w / s:>9,.0f} words/s, peak RSS {rss:6.0f} MiB")
        w, s, rss = results[-1]
        # Same corpus, same texts: the throughput ratio is the ratio of the two wall times.
        print(f"import throughput: {words / s:,.0f} words/s = {seconds / s:.2f}x the raw pipeline (goal >= 0.5x); "
              f"{lem_seconds / s:.2f}x the pipeline with lemmatizer")
        print(f"peak RSS growth from {results[0][0]:,} to {w:,} words: {rss / results[0][2]:.2f}x (flat = 1.0x)")


if __name__ == "__main__":
    main()
