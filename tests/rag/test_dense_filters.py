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


def brute_force(retriever: HybridRetriever, vector: np.ndarray, n: int, keep) -> list[str]:  # noqa: ANN001
    rows = retriever.collection.get(include=["embeddings", "metadatas"])
    scored = [(float(np.dot(v, vector)), cid) for cid, v, meta in
              zip(rows["ids"], rows["embeddings"], rows["metadatas"], strict=True) if keep(meta.get("date_int"))]
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
