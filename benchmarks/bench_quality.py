"""Brief quality against human summaries: ROUGE recall of the offline brief vs lead and LexRank.

Reads the clusters in ../shared/eval in place (never copied; their licences forbid it):

* ``multiling``: MultiLing 2011, 3 clusters x 10 WikiNews articles, 2 human references each;
* ``multinews``: 30 Multi-News clusters (2-5 scraped, noisy articles; each CSV row's
  ``documents`` is a Python list literal, one string per article), 1 human summary each
  (its leading "– " dropped);
* ``allsides``: 30 AllSides stories, left/center/right excerpts (``newBody``, the outlet's
  headline as the source title, not as text), 1 human roundup each (all its paragraphs).

For each cluster and template the brief's text is the text of every item of every section
plus the "Where sources differ" items, as a reader sees them (without the citation marks
and "(N sources)" notes); W is its number of words (whitespace-separated tokens holding a
letter or digit). Two baselines get exactly W words of the same cluster, split into
sentences by briefer itself (``briefer.sentences.split_sentences``), date-only lines such
as "Saturday, January 8, 2005" left out:

* lead: round-robin, the first sentence of every article, then the second of each, …,
  cut at W words;
* LexRank: Erkan & Radev's thresholded LexRank, implemented here with numpy: tf-idf
  cosine between sentences (idf over the cluster's sentences), edges above 0.1, power
  iteration with damping 0.85, no self-loops; sentences in rank order, skipping a near-duplicate
  (cosine above 0.7 to one already taken), cut at W words. Not a maintained package:
  sumy's tokenizers need NLTK's punkt_tab data, which only downloads (a LookupError
  offline), and its LexRank has no damping and stops at a loose epsilon of 0.1; the
  ``lexrank`` package (last release 2018) has no damping either, so the power method on
  a graph with isolated sentences gives them all the same score.

Reported per dataset and template: mean ROUGE-1 and ROUGE-2 recall (``rouge-score``,
Porter stemming; with several references, the mean over references), the brief/lead
and brief/LexRank ratios of those means, the share of clusters where the brief's R2
beats lead's, mean W, mean words of input and seconds per brief. A second table gives
the share of the references' content words (lower-cased, spaCy stop words out, as a
set) that each text contains, and the brief/lead ratio of those shares.

    pip install '.[bench]'
    python benchmarks/bench_quality.py                      # everything (several minutes)
    python benchmarks/bench_quality.py --datasets multiling --templates policy,sitrep
    python benchmarks/bench_quality.py --limit 3 --json quality.json
    python benchmarks/bench_quality.py --headroom   # what the data allows; no briefs made

``--headroom`` makes no brief. Per dataset it prints the ROUGE-2 recall per 100 words of
each sentence on its own, by its place in its article (a sentence's value to a reader of
the references), and, at a budget equal to the words of all the articles' first sentences
(where lead is exactly those ledes), ROUGE-2 of lead, LexRank and an oracle: sentences taken
greedily for the ROUGE-2 they add against the references themselves, cut at the same
budget. The oracle is no method (it reads the answer); it shows how much room the data
leaves above lead.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import logging
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from spacy.lang.en.stop_words import STOP_WORDS

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
sys.path.insert(0, str(ROOT))

from briefer.sources import Source, dateline  # noqa: E402

TEMPLATES = ("policy", "executive", "negotiation", "sitrep", "reactions")
LEXRANK_THRESHOLD = 0.1
LEXRANK_DAMPING = 0.85
LEXRANK_REDUNDANT = 0.7
"""A sentence this similar (tf-idf cosine) to one already taken adds nothing new."""


@dataclass(frozen=True)
class Cluster:
    """Articles about one event, as (title, text) pairs, and the human summaries of them."""

    dataset: str
    id: str
    articles: list[tuple[str, str]]
    references: list[str]


# --------------------------------------------------------------------------- datasets


def multiling_clusters(folder: Path) -> Iterator[Cluster]:
    """MultiLing 2011: each document is a list of lines (headline, date, paragraphs)."""
    references: dict[str, list[str]] = defaultdict(list)
    for line in (folder / "summaries.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["summarizer_type"] == "reference":
            references[record["instance_id"]].append(" ".join(record["summary"]["text"]))
    for line in (folder / "documents.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        articles = [(d["text"][0], "\n".join(d["text"]) + "\n") for d in record["documents"]]
        yield Cluster("multiling", record["instance_id"], articles, references[record["instance_id"]])


def multinews_clusters(folder: Path) -> Iterator[Cluster]:
    """Multi-News: one CSV row per cluster; ``documents`` is a list literal of article strings."""
    csv.field_size_limit(sys.maxsize)
    for path in sorted(folder.glob("*.csv")):
        split = path.name.split("_")[1].split(".")[0]  # sample_test.subset.csv -> test
        with path.open(encoding="utf-8", newline="") as handle:
            for row_number, row in enumerate(csv.DictReader(handle)):
                documents = ast.literal_eval(row["documents"])
                articles = [
                    (f"article {i}", text) for i, text in enumerate(documents, start=1) if text.strip()
                ]
                summary = row["summary"].strip().removeprefix("–").strip()
                yield Cluster("multinews", f"{split}#{row_number}", articles, [summary])


def allsides_clusters(folder: Path) -> Iterator[Cluster]:
    """AllSides: left/center/right excerpts of one story and AllSides' roundup of it."""
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            articles = [
                (news["newsTitle"], "\n\n".join(p.strip() for p in news["newBody"] if p.strip()) + "\n")
                for _, news in sorted(record["news"].items())
            ]
            roundup = " ".join(p.strip() for p in record["roundup"] if p.strip())
            yield Cluster("allsides", str(record["id"]), articles, [roundup])


DATASETS: dict[str, tuple[str, Callable[[Path], Iterator[Cluster]]]] = {
    "multiling": ("multiling2011_sacrerouge", multiling_clusters),
    "multinews": ("multinews_TheAthleticCoder", multinews_clusters),
    "allsides": ("neus_allsides", allsides_clusters),
}


def sources_of(cluster: Cluster) -> list[Source]:
    """The cluster's articles as briefer sources S1, S2 …, made in memory."""
    return [
        Source(
            id=f"S{i}",
            path=f"{cluster.dataset}/{cluster.id}/{i}",
            title=title,
            text=text,
            date=dateline(text),
        )
        for i, (title, text) in enumerate(cluster.articles, start=1)
    ]


# --------------------------------------------------------------------------- words


def words(text: str) -> list[str]:
    """The words of `text`: whitespace-separated tokens holding a letter or digit ("—" is none)."""
    return [token for token in text.split() if any(c.isalnum() for c in token)]


def cut(sentences: Iterable[str], budget: int) -> str:
    """The first `budget` words of `sentences`, in order; the last sentence may be cut short."""
    taken: list[str] = []
    for sentence in sentences:
        if len(taken) >= budget:
            break
        taken.extend(words(sentence))
    return " ".join(taken[:budget])


def _terms(text: str) -> list[str]:
    """Lower-cased words of letters and digits, without stop words."""
    lowered = "".join(c if c.isalnum() else " " for c in text.lower())
    return [w for w in lowered.split() if w not in STOP_WORDS]


def content_coverage(text: str, reference: str) -> float:
    """The share of `reference`'s distinct content words that `text` contains."""
    wanted = set(_terms(reference))
    return len(wanted & set(_terms(text))) / len(wanted) if wanted else 0.0


# --------------------------------------------------------------------------- baselines


def round_robin(articles: Sequence[Sequence[str]]) -> Iterator[str]:
    """The first sentence of every article, then the second of each, and so on."""
    for i in range(max((len(a) for a in articles), default=0)):
        yield from (article[i] for article in articles if i < len(article))


def lead_baseline(articles: Sequence[Sequence[str]], budget: int) -> str:
    """Round-robin lead of the articles' sentences, cut at `budget` words."""
    return cut(round_robin(articles), budget)


def similarity_matrix(sentences: Sequence[str]) -> np.ndarray:
    """Cosine of the sentences' tf-idf vectors (idf over these sentences); 1 on the diagonal."""
    bags = [Counter(_terms(s)) for s in sentences]
    vocabulary = {w: i for i, w in enumerate(sorted({w for bag in bags for w in bag}))}
    frequency = Counter(w for bag in bags for w in bag)
    vectors = np.zeros((len(bags), len(vocabulary)))
    for row, bag in enumerate(bags):
        for word, count in bag.items():
            vectors[row, vocabulary[word]] = count * math.log(len(bags) / frequency[word])
    norms = np.linalg.norm(vectors, axis=1)
    norms[norms == 0] = 1.0
    unit = vectors / norms[:, None]
    similarity: np.ndarray = unit @ unit.T
    np.fill_diagonal(similarity, 1.0)
    return similarity


def lexrank_scores(similarity: np.ndarray, threshold: float = LEXRANK_THRESHOLD) -> np.ndarray:
    """LexRank centrality (Erkan & Radev 2004): the stationary distribution of a random walk
    on the graph of sentences more similar than `threshold`, with damping 0.85.

    No sentence links to itself, and one with no neighbour passes its weight to all evenly
    (PageRank's rule), so a sentence like no other ranks last, not in the middle."""
    count = len(similarity)
    if count == 0:
        return np.zeros(0)
    adjacency = (similarity > threshold).astype(float)
    np.fill_diagonal(adjacency, 0.0)
    adjacency[adjacency.sum(axis=1) == 0] = 1.0
    transition = adjacency / adjacency.sum(axis=1, keepdims=True)
    scores = np.full(count, 1.0 / count)
    for _ in range(1000):
        updated: np.ndarray = (1 - LEXRANK_DAMPING) / count + LEXRANK_DAMPING * (transition.T @ scores)
        if np.abs(updated - scores).sum() < 1e-10:
            return updated
        scores = updated
    return scores


def lexrank_order(sentences: Sequence[str]) -> list[str]:
    """The sentences from most to least central, near-duplicates of earlier ones left out."""
    similarity = similarity_matrix(sentences)
    scores = lexrank_scores(similarity)
    ranked = sorted(range(len(sentences)), key=lambda i: -scores[i])  # stable: ties keep text order
    taken: list[int] = []
    for i in ranked:
        if all(similarity[i, j] <= LEXRANK_REDUNDANT for j in taken):
            taken.append(i)
    return [sentences[i] for i in taken]


def lexrank_baseline(articles: Sequence[Sequence[str]], budget: int) -> str:
    """LexRank over all the articles' sentences, cut at `budget` words."""
    return cut(lexrank_order([s for article in articles for s in article]), budget)


# --------------------------------------------------------------------------- one cluster


def article_sentences(sources: Sequence[Source]) -> list[list[str]]:
    """Each source's sentences as briefer splits them, date-only lines left out."""
    from briefer.sentences import split_sentences

    split = split_sentences(sources)
    return [
        [text for s in split[source.id] if dateline(text := " ".join(s.text.split())) is None]
        for source in sources
    ]


def brief_text(brief: Any) -> str:
    """What a reader of the brief reads: every item of every section and every difference."""
    items = [item for section in brief.sections for item in section.items] + list(brief.differences)
    return "\n".join(item.text for item in items)


def score_texts(scorer: Any, texts: dict[str, str], references: Sequence[str]) -> dict[str, float]:
    """ROUGE-1/2 recall and content-word coverage of each text, each the mean over `references`."""
    scores: dict[str, float] = {}
    for name, text in texts.items():
        rouges = [scorer.score(reference, text) for reference in references]
        scores[f"{name}_r1"] = sum(r["rouge1"].recall for r in rouges) / len(rouges)
        scores[f"{name}_r2"] = sum(r["rouge2"].recall for r in rouges) / len(rouges)
        scores[f"{name}_cov"] = sum(content_coverage(text, r) for r in references) / len(references)
    return scores


def run_cluster(
    cluster: Cluster, templates: dict[str, Any], engine: Any, scorer: Any
) -> list[dict[str, Any]]:
    """One record per template: the brief's W, seconds, empty sections and scores, and the baselines'."""
    from briefer import make_brief

    sources = sources_of(cluster)
    articles = article_sentences(sources)
    ranked = lexrank_order([s for article in articles for s in article])
    input_words = sum(len(words(s.text)) for s in sources)
    records = []
    for name, template in templates.items():
        record: dict[str, Any] = {"dataset": cluster.dataset, "cluster": cluster.id, "template": name}
        record.update(articles=len(sources), references=len(cluster.references), input_words=input_words)
        start = time.perf_counter()
        try:
            brief = make_brief(sources, template, engine)
        except Exception as error:  # one failed brief should not lose a long run; it is reported
            records.append({**record, "error": f"{type(error).__name__}: {error}"})
            continue
        record["seconds"] = time.perf_counter() - start
        text = brief_text(brief)
        budget = record["W"] = len(words(text))
        record["items"] = len(text.splitlines()) if text else 0
        record["empty"] = [s.key for s in brief.sections if not s.items] + (
            ["differences"] if len(sources) > 1 and not brief.differences else []
        )
        texts = {"brief": text, "lead": lead_baseline(articles, budget), "lexrank": cut(ranked, budget)}
        record.update(score_texts(scorer, texts, cluster.references))
        records.append(record)
    return records


# --------------------------------------------------------------------------- report


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def summarize(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Means per (dataset, template), in run order; ratios are of the means."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[record["dataset"], record["template"]].append(record)
    rows = []
    for (dataset, template), group in groups.items():
        done = [r for r in group if "error" not in r]
        row: dict[str, Any] = {"dataset": dataset, "template": template, "clusters": len(done)}
        row["failed"] = len(group) - len(done)
        for key in ("W", "input_words", "seconds"):
            row[key] = _mean([r[key] for r in done])
        for system in ("brief", "lead", "lexrank"):
            for measure in ("r1", "r2", "cov"):
                row[f"{system}_{measure}"] = _mean([r[f"{system}_{measure}"] for r in done])
        row["wins"] = _mean([float(r["brief_r2"] > r["lead_r2"]) for r in done])
        row["empty"] = Counter(key for r in done for key in r["empty"])
        rows.append(row)
    return rows


def _table(header: Sequence[str], lines: Iterable[Sequence[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return "\n".join(out + ["| " + " | ".join(line) + " |" for line in lines])


def rouge_table(rows: Sequence[dict[str, Any]]) -> str:
    """ROUGE recall x 100 of brief, lead and LexRank, with the brief's ratios to each."""
    header = ["dataset", "template", "clusters", "W", "input words"]
    header += [f"{m} {s}" for m in ("R1", "R2") for s in ("brief", "lead", "LexRank")]
    header += [
        "R2 brief/lead",
        "R2 brief/LexRank",
        "R1 brief/lead",
        "R1 brief/LexRank",
        "R2 > lead",
        "s/brief",
    ]
    lines = []
    for row in rows:
        line = [
            row["dataset"],
            row["template"],
            str(row["clusters"]),
            f"{row['W']:.0f}",
            f"{row['input_words']:.0f}",
        ]
        line += [f"{100 * row[f'{s}_{m}']:.1f}" for m in ("r1", "r2") for s in ("brief", "lead", "lexrank")]
        line += [
            f"{_ratio(row[f'brief_{m}'], row[f'{b}_{m}']):.2f}"
            for m in ("r2", "r1")
            for b in ("lead", "lexrank")
        ]
        line += [f"{100 * row['wins']:.0f}%", f"{row['seconds']:.2f}"]
        lines.append(line)
    return _table(header, lines)


def coverage_table(rows: Sequence[dict[str, Any]]) -> str:
    """The share of the references' content words each text covers, and brief/lead."""
    header = ["dataset", "template", "W", "brief", "lead", "LexRank", "brief/lead"]
    lines = [
        [row["dataset"], row["template"], f"{row['W']:.0f}"]
        + [f"{100 * row[f'{s}_cov']:.1f}%" for s in ("brief", "lead", "lexrank")]
        + [f"{_ratio(row['brief_cov'], row['lead_cov']):.2f}×"]
        for row in rows
    ]
    return _table(header, lines)


def empty_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Per dataset and template, the sections left empty and in how many clusters."""
    return [
        f"- {row['dataset']} {row['template']}: "
        + ", ".join(f"{key} {count}/{row['clusters']}" for key, count in row["empty"].most_common())
        for row in rows
        if row["empty"]
    ]


def print_report(rows: Sequence[dict[str, Any]], records: Sequence[dict[str, Any]]) -> None:
    print("ROUGE recall x 100 (rouge-score, Porter stemmer; mean over a cluster's references), at the")
    print("brief's word budget W; ratios are of the means; LexRank is the numpy implementation here.\n")
    print(rouge_table(rows))
    print("\nShare of the references' content words (lower-cased, no stop words) covered, at W words:\n")
    print(coverage_table(rows))
    empty = empty_lines(rows)
    if empty:
        print("\nEmpty sections (clusters with no item in them / clusters briefed):\n")
        print("\n".join(empty))
    for record in records:
        if "error" in record:
            print(f"\nFAILED {record['dataset']} {record['cluster']} {record['template']}: {record['error']}")


# --------------------------------------------------------------------------- headroom

_PLACES = ("1", "2", "3", "4", "5+")


def oracle(articles: Sequence[Sequence[str]], references: Sequence[str], scorer: Any, budget: int) -> str:
    """Greedy extractive oracle: the sentence that raises ROUGE-2 recall against `references`
    most, then the next, until nothing raises it or the budget is spent; cut at `budget`."""

    def r2(text: str) -> float:
        return _mean([scorer.score(reference, text)["rouge2"].recall for reference in references])

    left = [s for article in articles for s in article]
    taken: list[str] = []
    best = 0.0
    while left and len(words(" ".join(taken))) < budget:
        value, pick = max((r2(" ".join([*taken, s])), s) for s in left)
        if value <= best:
            break
        best = value
        taken.append(pick)
        left.remove(pick)
    return cut(taken, budget)


def headroom(cluster: Cluster, scorer: Any) -> dict[str, Any]:
    """R2 per 100 words of single sentences by place, and lead, LexRank and oracle at the ledes' length."""
    articles = article_sentences(sources_of(cluster))

    def r2(text: str) -> float:
        return _mean([scorer.score(reference, text)["rouge2"].recall for reference in cluster.references])

    by_place: dict[str, list[float]] = defaultdict(list)  # R2 and words, summed per place
    for article in articles:
        for number, sentence in enumerate(article):
            place = _PLACES[min(number, len(_PLACES) - 1)]
            by_place[place].append(r2(sentence))
            by_place[place + " words"].append(len(words(sentence)))
    budget = sum(len(words(article[0])) for article in articles if article)
    ranked = lexrank_order([s for article in articles for s in article])
    return {
        "dataset": cluster.dataset,
        "sentences": sum(len(article) for article in articles),
        "input_words": sum(len(words(s)) for article in articles for s in article),
        "budget": budget,
        "lead": r2(lead_baseline(articles, budget)),
        "lexrank": r2(cut(ranked, budget)),
        "oracle": r2(oracle(articles, cluster.references, scorer, budget)),
        **{key: sum(values) for key, values in by_place.items()},
    }


def headroom_table(records: Sequence[dict[str, Any]]) -> str:
    header = ["dataset", "clusters", "sentences", "input words", "ledes' words"]
    header += [f"R2/100 words, sentence {p}" for p in _PLACES]
    header += ["lead R2", "LexRank/lead", "oracle/lead"]
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in records):
        group = [r for r in records if r["dataset"] == dataset]
        lead = _mean([r["lead"] for r in group])
        line = [dataset, str(len(group))]
        line += [f"{_mean([r[k] for r in group]):.0f}" for k in ("sentences", "input_words", "budget")]
        for place in _PLACES:
            said = sum(r.get(place, 0.0) for r in group)
            line.append(f"{100 * 100 * _ratio(said, sum(r.get(place + ' words', 0) for r in group)):.2f}")
        line += [f"{100 * lead:.1f}", f"{_ratio(_mean([r['lexrank'] for r in group]), lead):.2f}"]
        line.append(f"{_ratio(_mean([r['oracle'] for r in group]), lead):.2f}")
        lines.append(line)
    return _table(header, lines)


# --------------------------------------------------------------------------- main


def _names(value: str, choices: Sequence[str] | None = None) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if choices is not None and n not in choices]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown: {', '.join(unknown)} (choose from {', '.join(choices or [])})"
        )
    return names


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--datasets", type=lambda v: _names(v, list(DATASETS)), default=list(DATASETS), help="comma-separated"
    )
    parser.add_argument(
        "--templates", type=_names, default=list(TEMPLATES), help="comma-separated names or .toml paths"
    )
    parser.add_argument("--limit", type=int, default=None, help="the first N clusters of each dataset")
    parser.add_argument("--json", type=Path, default=None, help="write the per-cluster figures here")
    parser.add_argument("--engine", default="extractive")
    parser.add_argument(
        "--headroom", action="store_true", help="no briefs: sentence value by place, and an oracle"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not EVAL.is_dir():
        print(f"Skipping: {EVAL} is absent.")
        return 0
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        print("rouge-score is not installed: pip install '.[bench]'", file=sys.stderr)
        return 2
    from briefer import get_engine, load_template
    from briefer.sentences import load_nlp

    logging.getLogger("briefer").setLevel(logging.ERROR)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    if args.headroom:
        return print_headroom(args, scorer)
    templates = {name: load_template(name) for name in args.templates}
    templates = {template.name: template for template in templates.values()}
    engine = get_engine(args.engine)
    load_nlp()  # once per process, before the clock starts
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    for dataset in args.datasets:
        folder = EVAL / DATASETS[dataset][0]
        if not folder.is_dir():
            print(f"Skipping {dataset}: {folder} is absent.")
            continue
        for cluster in list(DATASETS[dataset][1](folder))[: args.limit]:
            found = run_cluster(cluster, templates, engine, scorer)
            seconds = sum(r.get("seconds", 0.0) for r in found)
            print(
                f"{dataset} {cluster.id}: {len(cluster.articles)} articles, {seconds:.1f} s", file=sys.stderr
            )
            records.extend(found)
    print_report(summarize(records), records)
    print(f"\n{len(records)} briefs in {time.perf_counter() - started:.0f} s.")
    if args.json:
        args.json.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    return 0


def print_headroom(args: argparse.Namespace, scorer: Any) -> int:
    records = []
    for dataset in args.datasets:
        folder = EVAL / DATASETS[dataset][0]
        if not folder.is_dir():
            print(f"Skipping {dataset}: {folder} is absent.")
            continue
        records += [headroom(cluster, scorer) for cluster in list(DATASETS[dataset][1](folder))[: args.limit]]
    print("ROUGE-2 recall x 100 per 100 words of one sentence, by its place in its article; then, at the")
    print("words of all the articles' first sentences (lead = the ledes), lead, LexRank and the oracle.\n")
    print(headroom_table(records))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
