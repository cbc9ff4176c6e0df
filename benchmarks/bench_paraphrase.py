"""Machine-paraphrase detection: false positives on real news, seed recall, generalization, overhead.

Reads ../shared/eval in place (never copied) and says so and stops when it is absent:

* false positives: every article of MultiLing, Multi-News and AllSides (none of them spun),
  split into sentences by briefer itself; prints how many are flagged "likely
  machine-paraphrased", and the spun phrases found per thousand words;
* seed recall: the offline brief of the seed article, and which of the eight standard terms
  of the issue (Foreign Minister, national security adviser …) it shows beside a spun phrase;
* generalization: the same articles spun by `tests/spinner.py` with word swaps taken from the
  tortured-phrases list and not in briefer's own lists; of the gazetteer phrases the spinner
  changed (one or two words), how many are found with their standard term, and how many
  spun articles are flagged. For comparison, the same with swaps briefer's table does list
  (what the table alone finds, not generalization);
* overhead: detection alone over a ~1 MB corpus of those articles, against the offline brief
  of the same corpus (`--jobs 1`), timed in this process.

    python benchmarks/bench_paraphrase.py                 # everything (a few minutes)
    python benchmarks/bench_paraphrase.py --skip-overhead
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from briefer.paraphrase import ParaphraseReport, detect, lexicon, standard_phrases_in  # noqa: E402
from briefer.pipeline import detect_paraphrase, make_brief  # noqa: E402
from briefer.sentences import Sentence, split_sentences  # noqa: E402
from briefer.sources import Source, load_sources  # noqa: E402
from tests.spinner import held_out_swaps, spin  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SEED = ROOT / "seeds" / "us-russia-riyadh-talks.txt"
SEED_TERMS = [
    "Foreign Minister",
    "national security adviser",
    "Middle East special envoy",
    "foreign policy adviser",
    "Munich Security Conference",
    "World War II",
    "boots on the ground",
    "Associated Press",
]
CORPUS_CHARS = 1_000_000


def _bench_quality() -> ModuleType:
    """The eval readers of bench_quality.py (MultiLing, Multi-News, AllSides)."""
    spec = importlib.util.spec_from_file_location("bench_quality", ROOT / "benchmarks" / "bench_quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def eval_sources(eval_dir: Path) -> list[Source]:
    """Every article of the three news sets, as one source each (S1 …)."""
    quality = _bench_quality()
    sources: list[Source] = []
    for name, (folder, clusters) in quality.DATASETS.items():
        for cluster in clusters(eval_dir / folder):
            for i, (title, text) in enumerate(cluster.articles, start=1):
                path = f"{name}/{cluster.id}/{i}"
                sources.append(Source(id=f"S{len(sources) + 1}", path=path, title=title, text=text))
    return sources


def false_positives(
    sentences: dict[str, list[Sentence]], sources: Sequence[Source]
) -> list[ParaphraseReport]:
    reports = [detect_paraphrase(s.id, sentences[s.id]) for s in sources]
    flagged = [r for r in reports if r.likely]
    words = sum(r.words for r in reports)
    matches = sum(len(r.matches) for r in reports)
    by_set: dict[str, list[int]] = {}
    for source, report in zip(sources, reports, strict=True):
        counts = by_set.setdefault(source.path.split("/")[0], [0, 0])
        counts[0] += 1
        counts[1] += report.likely
    print("False positives (real, unspun news)")
    for name, (total, likely) in by_set.items():
        print(f"  {name:<10} {likely} of {total} articles flagged")
    print(
        f"  all        {len(flagged)} of {len(reports)} flagged ({100 * len(flagged) / len(reports):.1f}%); "
        f"{matches} spun phrases found in {words:,} words ({1000 * matches / words:.2f} per 1,000); "
        f"most different phrases in one article: {max(r.distinct for r in reports)}"
    )
    return reports


def seed_recall() -> None:
    brief = make_brief(load_sources([str(SEED)]))
    shown = {
        term.standard.removeprefix("The ")
        for section in brief.sections
        for item in section.items
        for term in item.standard_terms or ()
    }
    found = [term for term in SEED_TERMS if term in shown]
    missing = [term for term in SEED_TERMS if term not in shown]
    paraphrase = brief.sources[0].paraphrase
    assert paraphrase is not None
    print("\nSeed")
    print(
        f"  likely machine-paraphrased: {paraphrase.likely}, {len(paraphrase.matches)} spun phrases, "
        f"{paraphrase.per_1000_words} per 1,000 words"
    )
    print(
        f"  standard terms in the brief: {len(found)} of {len(SEED_TERMS)}; missing: {', '.join(missing) or 'none'}"
    )


def _plain(phrase: str) -> str:
    """A phrase for comparing: lower case, one space, no leading "the"."""
    return " ".join(phrase.casefold().split()).removeprefix("the ")


def _spun_recall(
    sentences: dict[str, list[Sentence]], sources: Sequence[Source], swaps: dict[str, list[str]], rate: float
) -> tuple[int, int, int, int]:
    """(phrases changed, found with their standard term, articles, articles flagged) for `swaps`."""
    changed = found = flagged = 0
    for k, source in enumerate(sources):
        spun_lines: list[tuple[int, str]] = []
        targets: list[tuple[int, str]] = []
        for sentence in sentences[source.id]:
            text, done = spin(sentence.text, swaps, rate=rate, seed=k * 10_000 + sentence.number)
            spun_lines.append((sentence.number, text))
            for start, end in standard_phrases_in(sentence.text):
                if 1 <= sum(start <= swap.start < end for swap in done) <= 2:
                    targets.append((sentence.number, sentence.text[start:end]))
        report = detect(source.id, spun_lines)
        flagged += report.likely
        for number, original in targets:
            changed += 1
            want = _plain(original)
            found += any(m.sentence == number and _plain(m.standard) == want for m in report.matches)
    return changed, found, len(sources), flagged


def generalization(sentences: dict[str, list[Sentence]], sources: Sequence[Source], eval_dir: Path) -> None:
    held_out = held_out_swaps(eval_dir / "tortured_phrases" / "tortured.csv")
    listed: dict[str, list[str]] = {}
    for pairs in lexicon().swaps.values():
        for spun, standard in pairs:
            if len(spun) == 1 and len(standard) == 1:
                listed.setdefault(standard[0], []).append(spun[0])
    print("\nSpun real news (tests/spinner.py, each word with a swap swapped at rate 0.7)")
    for label, swaps in (
        (f"swaps not in briefer's lists ({len(held_out)} words, tortured-phrases list)", held_out),
        (f"swaps in briefer's table, for comparison ({len(listed)} words)", listed),
    ):
        changed, found, articles, flagged = _spun_recall(sentences, sources, swaps, 0.7)
        print(f"  {label}")
        print(
            f"    gazetteer phrases changed: {changed}, found with their standard term: {found} "
            f"({100 * found / max(changed, 1):.1f}%); articles flagged: {flagged} of {articles}"
        )


def overhead(sources: Sequence[Source]) -> None:
    shuffled = list(sources)
    random.Random(0).shuffle(shuffled)
    corpus: list[Source] = []
    total = 0
    while total < CORPUS_CHARS:
        for source in shuffled:
            if total >= CORPUS_CHARS:
                break
            corpus.append(
                Source(id=f"S{len(corpus) + 1}", path=source.path, title=source.title, text=source.text)
            )
            total += len(source.text)
    started = time.perf_counter()
    brief = make_brief(corpus, jobs=1)
    brief_seconds = time.perf_counter() - started
    sentences = split_sentences(corpus)
    started = time.perf_counter()
    for source in corpus:
        detect_paraphrase(source.id, sentences[source.id])
    detect_seconds = time.perf_counter() - started
    flagged = sum(1 for s in brief.sources if s.paraphrase and s.paraphrase.likely)
    print(f"\nOverhead on {len(corpus)} articles, {total:,} characters (one run each, in this process)")
    print(f"  offline brief, --jobs 1, detection included: {brief_seconds:.1f} s ({flagged} sources flagged)")
    print(
        f"  detection alone: {detect_seconds:.2f} s, {100 * detect_seconds / (brief_seconds - detect_seconds):.1f}% "
        "of the brief without it"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=EVAL, help="default: ../shared/eval")
    parser.add_argument("--skip-overhead", action="store_true", help="do not brief the 1 MB corpus")
    args = parser.parse_args()
    if not args.eval_dir.is_dir():
        print(f"{args.eval_dir} is absent: nothing to measure (it is not part of the repository).")
        return 1
    sources = eval_sources(args.eval_dir)
    sentences = split_sentences(sources)
    false_positives(sentences, sources)
    seed_recall()
    generalization(sentences, sources, args.eval_dir)
    if not args.skip_overhead:
        overhead(sources)
    return 0


if __name__ == "__main__":
    sys.exit(main())
