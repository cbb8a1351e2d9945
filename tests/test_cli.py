"""The `rag` command, called in-process (same code path as the console script)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.cli import main
from rag.settings import Settings
from tests.helpers import SAMPLE_CORPUS


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def flags(settings: Settings) -> list[str]:
    return ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert code == 0
    for command in ("ingest", "search", "status", "ask", "serve", "eval"):
        assert command in out


def test_search_json_text_and_flags_after_the_command(capsys, sample_index: Settings) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "search", "Platinum Wolf", "-k", "2", "--json", *flags(sample_index))
    data = json.loads(out)
    assert code == 0 and len(data["results"]) == 2
    hit = data["results"][0]
    for key in ("rank", "score", "source", "title", "date", "chunk_id", "text"):
        assert key in hit
    code, out, _ = run(capsys, *flags(sample_index), "search", "tram line stops", "-k", "1")
    assert "varnholm-tram-line-opens.md" in out and "[1]" in out


def test_search_batch_queries(capsys, sample_index: Settings, tmp_path: Path) -> None:  # noqa: ANN001
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "question": "Who won the chess open?"}\n'
                       '{"id": "b", "question": "canal tolls"}\n', encoding="utf-8")
    out_file = tmp_path / "out.jsonl"
    code, _, _ = run(capsys, "search", "--queries", str(queries), "--output", str(out_file), *flags(sample_index))
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert code == 0 and [r["id"] for r in rows] == ["a", "b"]
    assert rows[0]["results"][0]["source"] == "harbour-chess-open.md"


def test_ask_json_has_the_documented_shape(capsys, sample_index: Settings) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "ask", "How many stops does the Green Line have?", "--json", "--backend",
                       "extractive", *flags(sample_index))
    data = json.loads(out)
    assert code == 0
    for key in ("question", "standalone_question", "answer", "refused", "support", "citations", "retrieved",
                "timings", "backend", "model"):
        assert key in data
    assert set(data["citations"][0]) >= {"n", "source", "title", "date", "url", "chunk_id", "text", "supported"}
    assert set(data["timings"]) >= {"retrieve_ms", "first_token_ms", "total_ms"}


def test_ask_streams_text_then_sources(capsys, sample_index: Settings) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "ask", "Who won the Harbour Chess Open?", "--backend", "extractive",
                       *flags(sample_index))
    assert code == 0 and "Mira Castell" in out and "Sources:" in out and "harbour-chess-open.md" in out


def test_ask_about_this_week_prints_the_answer_once_with_its_date(capsys, sample_index: Settings) -> None:  # noqa: ANN001
    code, out, err = run(capsys, "ask", "Who won the Harbour Chess Open this week?", "--as-of", "2026-02-18",
                         "--backend", "extractive", *flags(sample_index))
    answer = out.split("Sources:")[0]
    assert code == 0 and "Mira Castell" in answer and "this week" in err
    # The streamed sentences are the answer; the date of the evidence follows them instead of a second copy.
    assert answer.count("Mira Castell") == 1, answer
    assert "(As of 16 February 2026: the date of the newest cited source)" in answer


def test_status_lists_documents(capsys, sample_index: Settings) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "status", *flags(sample_index))
    assert code == 0 and "13 documents" in out


def test_user_errors_are_one_clear_line(capsys, sample_index: Settings, tmp_path: Path) -> None:  # noqa: ANN001
    code, _, err = run(capsys, "search", "x", "--since", "yesterday", *flags(sample_index))
    assert code == 2 and err.strip().startswith("error:") and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "ingest", "--corpus", str(tmp_path / "missing"), "--index", str(tmp_path / "i"))
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "search", "x", "--corpus", str(tmp_path), "--index", str(tmp_path / "empty"))
    assert code == 2 and "rag ingest" in err


def test_invalid_setting_from_the_environment(capsys, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("RAG_TOP_K", "many")
    code, _, err = run(capsys, "status")
    assert code == 2 and "invalid setting" in err and "top_k" in err


def test_ingest_json_summary(capsys, make_settings) -> None:  # noqa: ANN001
    settings = make_settings()
    (settings.corpus_dir / "a.md").write_text("---\ntitle: A\n---\n\nThe harbour opened a new quay.", encoding="utf-8")
    (settings.corpus_dir / "bad.txt").write_bytes(b"\x00\x01binary")
    code, out, err = run(capsys, "ingest", "--json", *flags(settings))
    data = json.loads(out)
    assert code == 0 and data["added"] == 1 and data["skipped"] == 1
    assert "warning: skipped bad.txt" in err


def test_search_names_the_outlet_of_each_result_and_its_copies(capsys) -> None:  # noqa: ANN001
    from rag.cli.search import print_hit

    hit = {"rank": 1, "score": 0.5, "source": "rtqa-1.md", "title": "Miners win raise", "date": "2023-05-15",
           "url": "https://www.apnews.com/article/x", "chunk_id": "c1", "text": "Miners won a raise.",
           "also": [{"source": "rtqa-2.md", "date": "2023-05-09", "url": "https://news.yahoo.com/y"},
                    {"source": "rtqa-3.md", "date": None, "url": None}]}
    print_hit(hit)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[1] score 0.5000  apnews.com  ·  Miners win raise  ·  2023-05-15")
    assert lines[0].endswith("(rtqa-1.md)")
    # A copy without a URL is named by its file, and an undated one says so.
    assert lines[1] == "    also in: news.yahoo.com (2023-05-09), rtqa-3.md (no date)"


@pytest.mark.parametrize("argv", [
    ("search", "tram", "-k", "0"), ("search", "tram", "-k", "-1"), ("ask", "tram?", "-k", "0"),
    ("eval", "questions.jsonl", "--limit", "0"), ("status", "--changes", "-1"),
])
def test_counts_out_of_range_are_rejected_with_one_line(capsys, tmp_path: Path, argv: tuple[str, ...]) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as stop:
        main(["--corpus", str(tmp_path), "--index", str(tmp_path / "index"), *argv])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert stop.value.code == 2 and len(errors) == 1, err
    assert argv[-2] in errors[0] and repr(argv[-1]) in errors[0]


@pytest.mark.parametrize("command", [("search",), ("ask", "--backend", "extractive")])
def test_a_blank_question_is_a_one_line_error(capsys, sample_index: Settings, command: tuple[str, ...]) -> None:  # noqa: ANN001
    code, out, err = run(capsys, command[0], "   ", *command[1:], *flags(sample_index))
    assert code == 2 and err.strip().startswith("error:") and len(err.strip().splitlines()) == 1, err
    assert "blank" in err and "no results" not in out


@pytest.mark.parametrize("command", [("search", "tram"), ("ask", "tram?", "--backend", "extractive"), ("ask", "tram?"),
                                     ("status",)])
def test_read_only_commands_create_no_index_folder(capsys, tmp_path: Path, command: tuple[str, ...]) -> None:  # noqa: ANN001
    index = tmp_path / "nothing-here"
    code, _, err = run(capsys, "--corpus", str(tmp_path), "--index", str(index), *command)
    assert not index.exists()
    if command[0] != "status":
        assert code == 2 and "rag ingest" in err


def test_counts_read_right_for_one_and_for_many(capsys, make_settings, sample_index: Settings) -> None:  # noqa: ANN001
    from rag.conversations import ConversationStore

    settings = make_settings()
    (settings.corpus_dir / "a.md").write_text("---\ntitle: A\n---\n\nThe harbour opened a new quay.", encoding="utf-8")
    run(capsys, "ingest", "--quiet", *flags(settings))
    code, out, _ = run(capsys, "status", *flags(settings))
    assert code == 0 and "1 document, 1 chunk;" in out and "    1 chunk   " in out, out
    code, out, _ = run(capsys, "status", *flags(sample_index))
    assert "13 documents, 20 chunks;" in out and " chunks  " in out
    code, out, _ = run(capsys, "search", "harbour quay", "-k", "1", *flags(settings))
    assert code == 0 and "\n1 result in " in out, out
    code, out, _ = run(capsys, "search", "tram", "-k", "2", *flags(sample_index))
    assert "\n2 results in " in out, out

    store = ConversationStore(settings.index_dir)
    cid, _ = store.append_turn("ann", None, "What opened?", {"answer": "A quay [1].", "refused": False, "citations": [
        {"n": 1, "source": "a.md", "title": "A", "date": None, "url": None, "text": "t", "supported": True}],
        "retrieved": [{"source": "a.md"}]}, "h", "s")
    store.set_feedback("ann", cid, 0, rating=1)
    code, out, _ = run(capsys, "feedback", "export", "--out", str(settings.index_dir / "fb.jsonl"), *flags(settings))
    assert code == 0 and "wrote 1 row to" in out and "(1 👍 regression case, 0 👎 cases to fix)" in out, out


def test_the_quoted_sentence_count_reads_right(capsys) -> None:  # noqa: ANN001
    from rag.answer.engine import Answer
    from rag.cli.ask import stream_answer

    for quoted, expected in ((1, "(1 sentence quoted verbatim"), (2, "(2 sentences quoted verbatim")):
        sentences = [{"text": f"Quote {i} [1].", "origin": "quote"} for i in range(quoted)]
        text = " ".join(s["text"] for s in sentences)
        answer = Answer(question="q", standalone_question="q", answer=text, refused=False, support=1.0,
                        citations=[], retrieved=[], sentences=sentences)
        stream_answer(iter([text, answer]))
        assert expected in capsys.readouterr().out


def _dataset(folder: Path, gold: list[str]) -> Path:
    """A dataset file in `folder`: one chess question per gold source."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "questions.jsonl"
    path.write_text("".join(json.dumps({"id": f"q{i}", "question": "Who won the Harbour Chess Open?",
                                        "answers": ["Mira Castell"], "gold_sources": [source]}) + "\n"
                            for i, source in enumerate(gold)), encoding="utf-8")
    return path


def test_eval_scores_against_the_corpus_beside_the_dataset(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    dataset = _dataset(tmp_path / "set", ["harbour-chess-open.md"])
    shutil.copytree(SAMPLE_CORPUS, dataset.parent / "corpus", ignore=lambda _, names: [
        n for n in names if n != "harbour-chess-open.md"])
    code, out, err = run(capsys, "eval", str(dataset), "--backend", "extractive", "--json", "--out",
                         str(tmp_path / "run"), "--index", str(tmp_path / "index"))
    beside = [line for line in out.splitlines() if "beside the dataset" in line]
    assert code == 0 and len(beside) == 1 and str(dataset.parent / "corpus") in beside[0], out
    assert json.loads(out.splitlines()[-1])["hit@1"] == 1.0 and "warning" not in err


def test_eval_warns_when_gold_sources_are_not_in_the_corpus(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    dataset = _dataset(tmp_path / "set", ["harbour-chess-open.md", "gone.md"])
    corpus = tmp_path / "elsewhere"
    shutil.copytree(SAMPLE_CORPUS, corpus, ignore=lambda _, names: [n for n in names if n != "harbour-chess-open.md"])
    code, out, err = run(capsys, "eval", str(dataset), "--backend", "extractive", "--corpus", str(corpus), "--out",
                         str(tmp_path / "run"), "--index", str(tmp_path / "index"))
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert code == 0 and len(warnings) == 1, err
    assert "1 of 2 gold sources" in warnings[0] and "gone.md" in warnings[0] and str(corpus) in warnings[0]
    assert "beside the dataset" not in out


def test_eval_stops_when_no_gold_source_is_in_the_corpus(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    dataset = _dataset(tmp_path / "set", ["gone.md", "lost.md"])
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    index = tmp_path / "index"
    code, _, err = run(capsys, "eval", str(dataset), "--corpus", str(corpus), "--index", str(index), "--out",
                       str(tmp_path / "run"))
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1, err
    assert "none of the 2 gold sources" in err and "--corpus" in err
    assert not index.exists() and not (tmp_path / "run").exists()


def test_a_refusal_gives_its_reason_as_a_sentence(capsys, sample_index: Settings) -> None:  # noqa: ANN001
    from rag.answer.engine import Answer
    from rag.ui.render import sources_html

    question = ("ask", "How much did the Tessa bridge cost?", "--backend", "extractive", *flags(sample_index))
    code, out, _ = run(capsys, *question, "--json")
    data = json.loads(out)
    reason = data["refusal_reason"]
    assert code == 0 and data["refused"] and reason[0].isupper() and reason.endswith("."), reason
    code, out, _ = run(capsys, *question)
    assert code == 0 and f"\n{reason}\n" in out, out
    # The web chat's panel says the same as a sentence after its own, in plain words (tests/ui/test_render.py).
    answer = Answer(question="q", standalone_question="q", answer="I couldn't find that in the corpus.",
                    refused=True, support=0.0, citations=[], retrieved=[],
                    refusal_reason="the passages mention only 0% of the question's terms (< 25%)")
    assert answer.refusal_reason == "The passages mention only 0% of the question's terms (< 25%)."
    html = sources_html(answer)
    assert "<small>The closest passages mention only 0% of the question" in html and "the passages mention" not in html
