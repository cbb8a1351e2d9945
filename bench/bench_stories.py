"""Story grouping threshold, measured on a real-news corpus (default: ../shared/data/news23-small/corpus).

Positive pairs are constructed from real articles: a syndicated copy (the same text under another outlet's
header and footer lines, whitespace and quotes changed), and an updated version (a paragraph added at the top,
one edited, the last one dropped). Negative pairs are real pairs of different articles: every pair of gold
articles of one quiz question (different outlets on the same story: the hardest negatives), plus 2,000 random
pairs. For each threshold, prints precision and recall of "same story" over those pairs, and how many pairs of
the real corpus itself would be grouped (to be inspected by eye with --show).

Run: .venv/bin/python -m bench.bench_stories [--corpus DIR] [--questions FILE] [--show]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
from pathlib import Path

import bench.common  # noqa: F401  (offline mode)
from rag.loaders import load_document
from rag.stories import group_stories, signature, similarity, title_terms, title_weights, titles_agree

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def syndicated(text: str, rng: random.Random) -> str:
    outlet = rng.choice(["The Associated Press", "Reuters", "Yahoo News", "MSN", "KTLA 5"])
    body = text.replace("’", "'").replace("“", '"').replace("”", '"')
    body = re.sub(r"[ \t]+", " ", body)
    return f"By {outlet} staff\nCopyright {outlet}. All rights reserved.\n\n{body}\n\nRead more from {outlet}."


def updated_version(text: str, rng: random.Random) -> str:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    if len(paragraphs) > 3:
        paragraphs = paragraphs[:-1]  # the last paragraph dropped
        i = rng.randrange(1, len(paragraphs))
        words = paragraphs[i].split()
        if len(words) > 8:
            j = rng.randrange(0, len(words) - 4)
            words[j : j + 4] = ["officials", "said", "on", "Tuesday"]  # one sentence edited
        paragraphs[i] = " ".join(words)
    update = "UPDATE: This story has been updated with new information from officials and a statement from the " \
             "family, who thanked the public for its support and asked for privacy."
    return "\n\n".join([update, *paragraphs])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=ROOT / "../shared/data/news23-small/corpus")
    parser.add_argument("--questions", type=Path, default=None)
    parser.add_argument("--show", action="store_true", help="print the corpus's own grouped pairs")
    args = parser.parse_args()
    questions = args.questions or args.corpus.parent / "questions.jsonl"
    rng = random.Random(7)
    texts, titles = {}, {}
    for path in sorted(args.corpus.glob("*")):
        try:
            doc = load_document(path, args.corpus, max_bytes=50_000_000, max_chars=2_000_000)
        except Exception:  # noqa: BLE001
            continue
        texts[path.name], titles[path.name] = doc.text, doc.title
    sigs = {name: signature(text) for name, text in texts.items()}
    names = sorted(texts)

    # (estimated Jaccard, headlines agree) per pair.
    terms = {name: title_terms(title) for name, title in titles.items()}
    weight = title_weights(terms)

    def agree(a: str, b: str) -> bool:
        return titles_agree(title_terms(a), title_terms(b), weight)

    positives = []
    for name in rng.sample(names, min(300, len(names))):
        copy_title = re.split(r"\s+[|–—-]\s+", titles[name])[0] + " | " + rng.choice(["AP News", "Yahoo", "MSN"])
        positives.append((similarity(sigs[name], signature(syndicated(texts[name], rng))),
                          agree(titles[name], copy_title)))
        words = titles[name].split()
        for i in rng.sample(range(len(words)), len(words) // 3):  # a third of the headline's words rewritten
            words[i] = rng.choice(["officials", "update", "latest", "report"])
        positives.append((similarity(sigs[name], signature(updated_version(texts[name], rng))),
                          agree(titles[name], "UPDATE: " + " ".join(words))))
    hard = set()
    for line in questions.read_text(encoding="utf-8").splitlines():
        gold = [g for g in json.loads(line).get("gold_sources", []) if g in sigs]
        hard.update(itertools.combinations(sorted(gold), 2))
    negatives_hard = [(similarity(sigs[a], sigs[b]), agree(titles[a], titles[b])) for a, b in hard]
    negatives_random = [(similarity(sigs[a], sigs[b]), agree(titles[a], titles[b]))
                        for a, b in (rng.sample(names, 2) for _ in range(2000))]
    # In the real corpus, pairs above a threshold are candidates: some are true copies (same wire story), so
    # they are not counted as errors here; --show prints them for labelling by eye.
    print(f"{len(texts)} articles; {len(positives)} constructed copy pairs; {len(negatives_hard)} same-question pairs "
          f"of different articles; {len(negatives_random)} random pairs")
    for use_titles in (False, True):
        print(f"\nheadlines must agree: {use_titles}")
        table(positives, negatives_hard, negatives_random, sigs, titles if use_titles else None)
    if args.show:
        groups = group_stories(sigs, 0.5, titles)
        members = {}
        for name, story in groups.items():
            members.setdefault(story, []).append(name)
        for _story, group in sorted(members.items()):
            if len(group) > 1:
                print("\n".join(f"  {n}: {titles[n][:70]!r} {texts[n][:60]!r}" for n in group) + "\n")


def table(positives: list, negatives_hard: list, negatives_random: list, sigs: dict, titles: dict | None) -> None:
    def same(pair: tuple[float, bool], t: float) -> bool:
        return pair[0] >= t and (titles is None or pair[1])

    print("| threshold | recall (copies) | precision | same-question pairs grouped | random pairs grouped | "
          "corpus groups of ≥2 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for t in THRESHOLDS:
        tp = sum(same(p, t) for p in positives)
        fp = sum(same(p, t) for p in negatives_hard) + sum(same(p, t) for p in negatives_random)
        groups = group_stories(sigs, t, titles)
        sizes = {}
        for story in groups.values():
            sizes[story] = sizes.get(story, 0) + 1
        multi = sum(1 for n in sizes.values() if n > 1)
        print(f"| {t:.1f} | {tp / len(positives):.3f} | {tp / max(tp + fp, 1):.3f} | "
              f"{sum(same(p, t) for p in negatives_hard)}/{len(negatives_hard)} | "
              f"{sum(same(p, t) for p in negatives_random)}/{len(negatives_random)} | {multi} |")


if __name__ == "__main__":
    main()
