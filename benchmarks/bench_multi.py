"""Multi-source figures on the WikiNews clusters in ../shared/eval (read in place, never copied).

For each 10-article cluster: wall time of the whole brief, distinct participant
names before merging (as the engine found them), people after merging (before the
template's cap on entries), participants listed in the brief and how many of them
cite two or more sources, items citing two or more sources, and "Where sources
differ" entries.

    python benchmarks/bench_multi.py [--engine extractive]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIKINEWS = ROOT.parent / "shared" / "eval" / "multiling2011_sacrerouge" / "documents.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", default="extractive")
    args = parser.parse_args()
    if not WIKINEWS.is_file():
        print(f"Skipping: {WIKINEWS} is absent.")
        return 0
    sys.path.insert(0, str(ROOT))
    from briefer import load_sources, make_brief
    from briefer.config import get_engine
    from briefer.findings import Finding
    from briefer.merge import merge_people
    from briefer.people import fold
    from briefer.sentences import load_nlp

    load_nlp()  # model loading is the same for every cluster; time the work, not the import
    print(
        f"{'cluster':<8} {'articles':>8} {'chars':>8} {'wall s':>7} {'names raw':>9} {'merged':>6} "
        f"{'listed':>6} {'2+ src':>6} {'items 2+ src':>12} {'items':>6} {'differ':>6}"
    )
    for line in WIKINEWS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        with tempfile.TemporaryDirectory() as folder:
            for document in record["documents"]:
                Path(folder, f"{document['filename']}.txt").write_text(
                    "\n".join(document["text"]) + "\n", encoding="utf-8"
                )
            sources = load_sources([folder])
            engine = get_engine(args.engine)
            raw: list[Finding] = []
            extract = engine.extract

            def recording(chunk, template, _extract=extract, _raw=raw):  # type: ignore[no-untyped-def]
                findings = _extract(chunk, template)
                _raw.extend(f for f in findings.items if f.name)
                return findings

            engine.extract = recording  # type: ignore[method-assign]
            start = time.perf_counter()
            brief = make_brief(sources, "policy", engine)
            wall = time.perf_counter() - start
        people = brief.sections[0].items
        items = [i for s in brief.sections for i in s.items]
        multi = sum(1 for i in items if (i.sources or 0) >= 2)
        names = len({fold(f.name or "") for f in raw})
        merged = len(merge_people(raw, {source.id: i for i, source in enumerate(sources)}))
        people_multi = sum(1 for p in people if len({c.source for c in p.citations}) >= 2)
        chars = sum(len(s.text) for s in sources)
        print(
            f"{record['instance_id']:<8} {len(sources):>8} {chars:>8} {wall:>7.2f} {names:>9} {merged:>6} "
            f"{len(people):>6} {people_multi:>6} {multi:>12} {len(items):>6} {len(brief.differences):>6}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
