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
from collections.abc import Iterable, Iterator, Mapping

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
    return dict(_IdfWeights(df, max(len(terms), 1)))


def group_stories(signatures: Mapping[str, str | None], threshold: float = DEFAULT_THRESHOLD,
                  titles: Mapping[str, str] | None = None) -> dict[str, str]:
    """source → story id (the group's first source). Sources without a signature stand alone. With `titles`,
    a pair also needs headlines that agree (titles_agree) and do not name different days (dates_agree)."""
    stories = StoryIndex(threshold)
    stories.update({source: (sig, (titles or {}).get(source)) for source, sig in signatures.items()}, ())
    return stories.groups()


class StoryIndex:
    """The story groups of a changing set of documents, kept document by document: after any sequence of
    `update`s, `groups()` equals grouping the documents present afresh with datasketch's MinHashLSH
    (tests/rag/test_stories.py).

    What a pair's grouping depends on is split by what changes it: the MinHash estimate and the headlines' days
    depend on the pair alone, so the similar pairs are found once, when a document arrives (its LSH candidates);
    the headline check weighs terms by their frequency over all headlines, which every document changes, so it
    is re-run over those pairs (near-duplicates only: few) at each `groups()`."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        # datasketch's banding for this threshold (b bands of r values); the buckets are kept here, as plain
        # dicts: two documents are candidates when one band of their signatures is equal, as in MinHashLSH
        # (whose per-document objects and hashing cost ~10x more: 0.2 ms a document).
        self._bands: list[tuple[int, int]] = list(MinHashLSH(threshold=threshold, num_perm=NUM_PERM).hashranges)
        self._buckets: list[dict[bytes, set[str]]] = [{} for _ in self._bands]
        self._values: dict[str, np.ndarray] = {}
        self._sources: set[str] = set()
        self._terms: dict[str, set[str]] = {}  # of documents with a headline
        self._days: dict[str, set[str]] = {}
        self._df: dict[str, int] = {}
        self._pairs: dict[str, set[str]] = {}  # similar enough, days agree; both directions

    def update(self, upserted: Mapping[str, tuple[str | None, str | None]], removed: Iterable[str]) -> None:
        """`upserted`: source → (signature, headline) of documents added or changed; `removed`: gone."""
        for source in [*removed, *upserted]:
            self._remove(source)
        added: list[str] = []
        for source, (sig, title) in sorted(upserted.items()):
            self._sources.add(source)
            if title is not None:
                self._terms[source] = title_terms(title)
                self._days[source] = title_dates(title)
                for term in self._terms[source]:
                    self._df[term] = self._df.get(term, 0) + 1
            values = _values(sig) if sig else None
            if values is not None and len(values) == NUM_PERM:
                self._values[source] = values
                for bucket, key in self._keys(values):
                    bucket.setdefault(key, set()).add(source)
                added.append(source)
        for source in added:  # after every insert: pairs among the new documents are found too
            values = self._values[source]
            candidates = set().union(*(bucket.get(key, ()) for bucket, key in self._keys(values)))
            for other in sorted(candidates):
                # LSH proposes candidates; the estimate decides, so the result does not depend on banding luck.
                if (other != source and float(np.mean(values == self._values[other])) >= self.threshold
                        and dates_agree(self._days.get(source, set()), self._days.get(other, set()))):
                    self._pairs.setdefault(source, set()).add(other)
                    self._pairs.setdefault(other, set()).add(source)

    def _remove(self, source: str) -> None:
        if source not in self._sources:
            return
        self._sources.discard(source)
        values = self._values.pop(source, None)
        if values is not None:
            for bucket, key in self._keys(values):
                members = bucket[key]
                members.discard(source)
                if not members:
                    del bucket[key]
        for term in self._terms.pop(source, set()):
            self._df[term] -= 1
            if not self._df[term]:
                del self._df[term]
        self._days.pop(source, None)
        for other in self._pairs.pop(source, set()):
            self._pairs[other].discard(source)
            if not self._pairs[other]:
                del self._pairs[other]

    def _keys(self, values: np.ndarray) -> Iterator[tuple[dict[bytes, set[str]], bytes]]:
        """Each band's bucket table and this signature's key in it."""
        for bucket, (start, end) in zip(self._buckets, self._bands, strict=True):
            yield bucket, values[start:end].tobytes()

    def groups(self) -> dict[str, str]:
        """source → story id (its group's alphabetically first source)."""
        n = max(len(self._terms), 1)
        weight = _IdfWeights(self._df, n)
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.get(x, x) != x:
                parent[x] = parent.get(parent[x], parent[x])
                x = parent[x]
            return x

        for source in sorted(self._pairs):
            for other in self._pairs[source]:
                if source < other and titles_agree(self._terms.get(source, set()), self._terms.get(other, set()),
                                                   weight):
                    a, b = find(source), find(other)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
        return {source: find(source) for source in sorted(self._sources)}


class _IdfWeights(Mapping[str, float]):
    """title_weights' values (log((n + 1) / df)), computed for the terms asked about only."""

    def __init__(self, df: Mapping[str, int], n: int) -> None:
        self._df, self._n = df, n

    def __getitem__(self, term: str) -> float:
        return math.log((self._n + 1) / self._df[term])

    def __iter__(self) -> Iterator[str]:
        return iter(self._df)

    def __len__(self) -> int:
        return len(self._df)
