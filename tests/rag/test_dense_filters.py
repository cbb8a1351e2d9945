"""The dense side's date filters: the unfiltered over-fetch gives what Chroma's `where` gives, and falls back to
it when too few of the over-fetched candidates pass."""

from __future__ import annotations

import numpy as np
import pytest

from rag.embedding import Embedder
from rag.retrieve import DENSE_OVERFETCH, HybridRetriever
from rag.sync import sync_corpus
from tests.helpers import FLOODS, WIRE, article, write


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> HybridRetriever:
    from rag.settings import get_settings

    base = tmp_path_factory.mktemp("dense")
    for name, (title, date, text) in FLOODS.items():
        write(base / "corpus" / name, article(title, text, date))
    for day in range(1, 13):
        write(base / "corpus" / f"wire-{day:02d}.md", article(f"Kessel strike, day {day}", f"Day {day}. " + WIRE,
                                                              f"2023-04-{day:02d}"))
    settings = get_settings(corpus_dir=base / "corpus", index_dir=base / "index")
    sync_corpus(settings, embedder=embedder)
    return HybridRetriever(settings, embedder=embedder)


def brute_force(retriever: HybridRetriever, vector: np.ndarray, n: int, keep, keep_id=None) -> list[str]:  # noqa: ANN001
    rows = retriever.collection.get(include=["embeddings", "metadatas"])
    scored = [(float(np.dot(v, vector)), cid) for cid, v, meta in
              zip(rows["ids"], rows["embeddings"], rows["metadatas"], strict=True)
              if keep(meta.get("date_int")) and (keep_id is None or keep_id(cid))]
    return [cid for _, cid in sorted(scored, reverse=True)[:n]]


@pytest.mark.parametrize(("since", "until", "as_of", "keep", "queries"), [
    (None, None, 20230331, lambda d: d is None or d <= 20230331, 2),   # few pass: Chroma's filter runs
    (None, None, 20230601, lambda d: d is None or d <= 20230601, 1),   # most pass: the over-fetch suffices
    (20230410, None, 20230601, lambda d: d is not None and 20230410 <= d <= 20230601, None),
    (None, 20230406, None, lambda d: d is not None and d <= 20230406, None),
])
def test_date_filtered_dense_candidates_equal_the_exact_ones(retriever: HybridRetriever, since, until, as_of,  # noqa: ANN001
                                                              keep, queries, monkeypatch) -> None:  # noqa: ANN001
    count = retriever.collection.count()
    n = 3
    assert count > n * DENSE_OVERFETCH  # the over-fetch does not read the whole collection
    vector = retriever.embedder.embed_query("How many families did the Orrin flood force from their homes?")
    undated = retriever.catalog().undated
    collection = retriever.collection
    calls = []
    real_query = collection.query
    monkeypatch.setattr(collection, "query", lambda **kw: calls.append(kw.get("where")) or real_query(**kw))
    got = [cid for cid, _ in retriever._dense(vector, n, None, since, until, as_of, undated)]
    monkeypatch.undo()
    assert got == brute_force(retriever, vector, n, keep)
    assert calls[0] is None and (queries is None or len(calls) == queries)


@pytest.mark.parametrize(("glob", "path"), [("wire-0[1-3].md", "ids"), ("wire-*", "over-fetch"),
                                            ("*.md", "over-fetch")])
def test_source_filtered_dense_candidates_equal_the_exact_ones(retriever: HybridRetriever, glob: str, path: str,
                                                               monkeypatch) -> None:  # noqa: ANN001
    """A source glob never sends Chroma a `where` over sources: a narrow one restricts the query to the
    glob's chunk ids (the manifest's), a broad one over-fetches and filters. Both give the exact nearest."""
    vector = retriever.embedder.embed_query("How long did the Kessel strike last?")
    catalog = retriever.catalog()
    sources, ids = retriever._matching_sources(retriever.lexical(), catalog, glob)
    assert sources and ids
    share = len(sources) / len(catalog.records)
    assert (share >= 0.5) == (path == "over-fetch")
    collection = retriever.collection
    calls = []
    real_query = collection.query
    monkeypatch.setattr(collection, "query", lambda **kw: calls.append(kw) or real_query(**kw))
    n = 3
    got = retriever._dense(vector, n, sources, None, None, None, [], source_ids=ids, source_share=share)
    monkeypatch.undo()
    source_of = dict(zip(*[retriever.collection.get(include=["metadatas"])[k] for k in ("ids", "metadatas")],
                         strict=True))
    expected = brute_force(retriever, vector, n, lambda _: True, lambda cid: source_of[cid]["source"] in sources)
    assert [cid for cid, _ in got] == expected
    assert all(call.get("where") is None for call in calls)
    assert bool(calls[-1].get("ids")) == (path == "ids")
    # The same as Chroma's own `where` over the sources (what a search with a glob sent before).
    by_where = retriever._dense(vector, n, sources, None, None, None, [])
    assert [cid for cid, _ in by_where] == expected
