"""Follow-up or new question (rag/answer/generate.py leans_on_context) and what each is judged by."""

from __future__ import annotations

import pytest

from rag.answer.engine import AnswerEngine
from rag.answer.factory import make_engine
from rag.answer.generate import heuristic_rewrite, leans_on_context
from rag.embedding import Embedder
from rag.settings import Settings

# (question, leans on the conversation)
CASES = [
    # a pronoun or a pointing word that needs an antecedent
    ("How long did it last?", True),
    ("How old is she?", True),
    ("How much does it cost?", True),
    ("What did they announce?", True),
    ("Why did that happen?", True),
    ("Who said that?", True),
    ("What happened there?", True),
    ("Which countries took part in this exercise?", True),
    ("Who else attended?", True),
    # a fragment
    ("And in 2022?", True),
    ("What about Belgrade?", True),
    ("And how much money did the regional government promise farmers?", True),
    ("In May?", True),
    # a definite description with no name, or too few words to name a subject
    ("How long did the exercise last?", True),
    ("Which company owns the mine?", True),
    ("Where will the talks take place?", True),
    ("Who won?", True),
    # ... whatever time words follow it
    ("What happened to the bridge this week?", True),
    ("What happened to the talks today?", True),
    ("Any news on the cubs this week?", True),
    # a question naming its own subject
    ("How much did the Tessa bridge cost?", False),
    ("What is the population of Belgrade?", False),
    ("How many soldiers took part in Platinum Wolf?", False),
    ("When did the tram line in Varnholm open?", False),
    ("What did the Kordal miners win in the wage deal?", False),
    ("Who won the Harbour Chess Open?", False),
    ("What did the regional government promise farmers?", False),
    ("Is there a ferry strike in Halvik?", False),
    ("What happened in 2022 at the Lindmoor reservoir?", False),
    ("What happened in the US this week?", False),
    # a question about a time, with no topic of its own
    ("What happened this week?", False),
    ("What were the main news stories in the last few days?", False),
    ("Tell me the news from yesterday.", False),
    ("What's new this week?", False),  # what rag.timewindow.time_only calls a digest question, word for word
    ("What's on this week?", False),
]


@pytest.mark.parametrize(("question", "leans"), CASES)
def test_a_question_leans_on_the_conversation_by_one_rule(question: str, leans: bool) -> None:
    assert leans_on_context(question) is leans


TESSA = [{"role": "user", "content": "How much did the Tessa bridge cost?"},
         {"role": "assistant", "content": "I couldn't find that in the corpus."}]
SERBIA = [{"role": "user", "content": "What was the military exercise in Serbia called?"},
          {"role": "assistant", "content": "It was called Platinum Wolf [1]."}]


def test_a_standalone_question_borrows_nothing_from_the_conversation() -> None:
    assert heuristic_rewrite("What happened this week?", TESSA) == "What happened this week?"
    assert heuristic_rewrite("What's new this week?", TESSA) == "What's new this week?"
    assert heuristic_rewrite("What happened to the bridge this week?", TESSA) == (
        "What happened to the bridge this week? (context: How much did the Tessa bridge cost?)")
    assert heuristic_rewrite("What is the population of Belgrade?", SERBIA) == "What is the population of Belgrade?"
    # The context of a follow-up is the latest question that names its own subject, not a follow-up before it.
    chain = [*SERBIA, {"role": "user", "content": "How long did it last?"}, {"role": "assistant", "content": "x"}]
    assert heuristic_rewrite("Who led it?", chain).endswith("(context: What was the military exercise in Serbia called?)")


@pytest.fixture(scope="module")
def engine(sample_index: Settings, embedder: Embedder) -> AnswerEngine:
    return make_engine(sample_index.model_copy(update={"llm_backend": "extractive"}), embedder=embedder)


def test_a_pronoun_follow_up_is_judged_with_its_context_terms(engine: AnswerEngine) -> None:
    """"How long did it last?" names only "last" itself: the passages about the exercise name the context's terms."""
    answer = engine.ask("How long did it last?", history=SERBIA)
    assert not answer.refused, answer.refusal_reason
    assert "two-week" in answer.answer


def test_a_new_question_after_a_refused_one_is_not_judged_by_the_old_subject(engine: AnswerEngine) -> None:
    answer = engine.ask("How many stops does the Green Line have?", history=TESSA)
    assert answer.standalone_question == "How many stops does the Green Line have?"
    assert "tessa" not in (answer.refusal_reason or "").lower()
    assert "19 stops" in answer.answer
