"""Story grouping: near-duplicate articles (syndicated wire copy, updated versions) share one story id.

Each document gets a MinHash signature of its word shingles at ingest (kept in the manifest with the file's
record). Groups are then a pure function of the current set of signatures: candidate pairs from MinHash LSH,
kept when their estimated Jaccard similarity reaches the threshold, joined transitively; a group's id is its
alphabetically first source. A clean build and any sequence of incremental syncs therefore agree on the
groups, and a crash can only leave what the manifest says (see rag/sync.py).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping

import numpy as np

NUM_PERM = 64
SHINGLE_WORDS = 5
# Measured on news23-small (bench/bench_stories.py, docs/time.md): constructed syndicated copies and
# updated versions reach estimated Jaccard ≥ 0.5; distinct articles on the same story stay below 0.3.
DEFAULT_THRESHOLD = 0.5
_SEED = 1
_SCHEME = "affine32"  # 32-bit hash values: the signature is stored as NUM_PERM uint32
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def outlet(url: str | None, source: str) -> str:
    """Where an article was published: its URL's host without "www.", else its file."""
    from urllib.parse import urlparse

    try:
        host = urlparse(url).hostname if url else None
    except ValueError:
        host = None
    return host.removeprefix("www.") if host else source


def shingles(text: str, width: int = SHINGLE_WORDS) -> set[str]:
    words = _WORD_RE.findall(text.lower())
    if len(words) < width:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + width]) for i in range(len(words) - width + 1)}


def signature(text: str) -> str:
    """The document's MinHash signature, as compact text for the manifest (base64 of NUM_PERM uint32)."""
    from datasketch import MinHash

    minhash = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME)
    minhash.update_batch([s.encode("utf-8") for s in sorted(shingles(text))])
    return base64.b64encode(minhash.hashvalues.astype("<u4").tobytes()).decode("ascii")


def _values(sig: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(sig), dtype="<u4").astype(np.uint32)


def similarity(a: str, b: str) -> float:
    """Estimated Jaccard similarity of two documents' shingle sets."""
    return float(np.mean(_values(a) == _values(b)))


_TITLE_STOP = frozenset("the a an of in on at to for and or with from by as is are was were after over new "
                        "how what why who when its his her their this that".split())
TITLE_OVERLAP = 0.5


def title_terms(title: str) -> set[str]:
    """Content words of a headline, cut to 5 letters (event/events), without the outlet ("… | CNN", "… - AP")."""
    parts = re.split(r"\s+[|–—-]\s+", title)
    head = " ".join(parts[:-1]) if len(parts) > 1 else title  # the last part names the outlet
    return {w[:5] for w in _WORD_RE.findall(head.lower()) if w not in _TITLE_STOP and len(w) > 1}


def titles_agree(a: set[str], b: set[str], weight: Mapping[str, float]) -> bool:
    """Copies of a story keep most of its headline's distinctive words: the shared terms carry at least
    TITLE_OVERLAP of the lighter headline's weight (weights: inverse document frequency over all titles). Pages
    whose extracted text is mostly the site's boilerplate (ad-feedback forms, consent notices) look alike in
    text but share only their series' common words ("Quiz of the Week: 12 - 18 August"): without this check
    they formed groups of up to a dozen unrelated articles on news23."""
    if not a or not b:
        return True

    def mass(terms: set[str]) -> float:
        return sum(weight.get(t, 1.0) for t in terms)

    return mass(a & b) >= TITLE_OVERLAP * min(mass(a), mass(b))


_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_DAY_MONTH = re.compile(rf"\b{_DAY}(?:\s*[-–]\s*{_DAY})?\s+(?:of\s+)?{_MONTH}\b")
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+{_DAY}(?!\d)(?:\s*[-–]\s*{_DAY}\b)?")


def title_dates(title: str) -> set[str]:
    """The calendar days a headline names ("Quiz of the Week: 12 - 18 August" → {"12 aug", "18 aug"})."""
    text = title.lower()
    days: set[str] = set()
    for m in _DAY_MONTH.finditer(text):
        days.update(f"{int(d)} {m[3]}" for d in (m[1], m[2]) if d)
    for m in _MONTH_DAY.finditer(text):
        days.update(f"{int(d)} {m[1]}" for d in (m[2], m[3]) if d)
    return days


def dates_agree(a: set[str], b: set[str]) -> bool:
    """Headlines that both name days, and no day in common, are different editions of a series ("Quiz of the
    Week: 5 - 11 August" and "… 12 - 18 August"): their pages share the site's template, not a story."""
    return not a or not b or bool(a & b)


def title_weights(terms: Mapping[str, set[str]]) -> dict[str, float]:
    df: dict[str, int] = {}
    for words in terms.values():
        for w in words:
            df[w] = df.get(w, 0) + 1
    n = max(len(terms), 1)
    return {w: math.log((n + 1) / c) for w, c in df.items()}


def group_stories(signatures: Mapping[str, str | None], threshold: float = DEFAULT_THRESHOLD,
                  titles: Mapping[str, str] | None = None) -> dict[str, str]:
    """source → story id (the group's first source). Sources without a signature stand alone. With `titles`,
    a pair also needs headlines that agree (titles_agree) and do not name different days (dates_agree)."""
    terms = {source: title_terms(title) for source, title in (titles or {}).items() if source in signatures}
    days = {source: title_dates(title) for source, title in (titles or {}).items() if source in signatures}
    weight = title_weights(terms)
    from datasketch import MinHash, MinHashLSH

    parent = {source: source for source in signatures}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    values = {s: _values(sig) for s, sig in sorted(signatures.items()) if sig}
    values = {s: v for s, v in values.items() if len(v) == NUM_PERM}
    if len(values) > 1:
        lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        minhashes = {}
        for source, vals in values.items():
            minhashes[source] = MinHash(num_perm=NUM_PERM, seed=_SEED, hashvalues=vals, scheme=_SCHEME)
            lsh.insert(source, minhashes[source])
        for source, vals in values.items():
            for other in lsh.query(minhashes[source]):
                # LSH proposes candidates; the estimate decides, so the result does not depend on banding luck.
                if (other != source and float(np.mean(vals == values[other])) >= threshold
                        and titles_agree(terms.get(source, set()), terms.get(other, set()), weight)
                        and dates_agree(days.get(source, set()), days.get(other, set()))):
                    a, b = find(source), find(other)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
    return {source: find(source) for source in sorted(signatures)}
