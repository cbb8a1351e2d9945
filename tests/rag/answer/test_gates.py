"""Refusal gates by where a question stands against the corpus's dates (rag/answer/gates.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rag.answer.gates import (
    REFUSAL_MODEL,
    CorpusDates,
    RefusalFeatures,
    TimeStanding,
    decides_combined,
    passage_coverage,
    refusal_features,
    retrieval_refusal,
    term_rarity,
    thresholds,
    time_standing,
    window_is_empty,
)
from rag.lexical import LexicalIndex
from rag.settings import Settings
from rag.timewindow import DateWindow
from rag.types import Chunk, Hit

SETTINGS = Settings()
THRESHOLDS = Settings(refusal_decision="thresholds")  # each gate on its own, as before the combined decision
DAY = dt.date(2023, 6, 9)


def chunk(text: str, date: str | None, title: str = "News") -> Chunk:
    return Chunk(id=f"{title}-{date}-{len(text)}", source=f"{title}-{date}.md", text=text, title=title, start=0,
                 end=len(text), ordinal=0, text_hash="x", date=date)


def hit(text: str, date: str | None, cosine: float = 0.7, in_window: bool | None = None) -> Hit:
    return Hit(chunk=chunk(text, date), score=1.0, dense_score=cosine, in_window=in_window)


CORPUS = CorpusDates(tuple(dt.date.fromisoformat(d) for d in ("2022-12-01", "2023-05-20", "2023-06-05")))


def test_corpus_dates_answer_newest_and_any_between() -> None:
    assert CORPUS.newest(dt.date(2023, 6, 1)) == dt.date(2023, 5, 20)
    assert CORPUS.newest(dt.date(2022, 1, 1)) is None
    assert CORPUS.any_between(dt.date(2023, 6, 1), dt.date(2023, 6, 9))
    assert not CORPUS.any_between(dt.date(2023, 1, 1), dt.date(2023, 5, 19))


def test_standing_current_past_the_corpus_or_in_it() -> None:
    assert time_standing([chunk("a", "2023-06-05")], DAY, CORPUS, SETTINGS).regime == "current"
    old = [chunk("a", "2022-12-01"), chunk("b", None)]
    assert time_standing(old, DAY, CORPUS, SETTINGS).regime == "in corpus"
    # Asked half a year after the corpus's newest article: by default a static archive, inside its dates...
    assert time_standing(old, dt.date(2024, 1, 5), CORPUS, SETTINGS).regime == "in corpus"
    # ...and for a live feed (RAG_CORPUS_GAP_DAYS set) news the corpus cannot hold yet.
    live = Settings(corpus_gap_days=14)
    late = time_standing(old, dt.date(2024, 1, 5), CORPUS, live)
    assert late.regime == "past corpus" and late.corpus_newest == dt.date(2023, 6, 5)
    assert time_standing(old, dt.date(2023, 6, 19), CORPUS, live).regime == "in corpus"
    assert time_standing(old, DAY, None, live).regime == "in corpus"


def test_the_sample_corpus_is_answered_alike_on_any_later_day() -> None:
    """The default gates must not depend on how long ago the corpus was last updated: asked a week or two years
    after its newest article, a question about an older article meets the same gates."""
    old = [chunk("a", "2023-05-20")]
    standings = {time_standing(old, dt.date(2023, 6, 5) + dt.timedelta(days=d), CORPUS, SETTINGS).regime
                 for d in (30, 90, 730)}
    assert standings == {"in corpus"}


def test_the_gates_are_lenient_for_current_news_and_strict_past_the_corpus() -> None:
    # The passage names 2 of the question's 5 terms (40 %): enough for current news, not otherwise.
    question = "Which storm flooded Varnholm's harbour slamming docks?"
    passages = [chunk("The storm flooded the old town.", "2023-06-05")]
    hits = [Hit(chunk=passages[0], score=1.0, dense_score=0.62)]
    current = TimeStanding("current", 4, None)
    in_corpus = TimeStanding("in corpus", 200, None)
    past = TimeStanding("past corpus", 300, dt.date(2023, 6, 5))
    assert retrieval_refusal(question, [], hits, passages, current, THRESHOLDS) is None
    assert "of the question's terms" in retrieval_refusal(question, [], hits, passages, in_corpus, THRESHOLDS)
    # Past the corpus a near miss must also be close in meaning: cosine 0.55 is not.
    full = [chunk("The storm slamming Varnholm flooded the harbour docks.", "2023-06-05")]
    near = [Hit(chunk=full[0], score=1.0, dense_score=0.55)]
    assert retrieval_refusal(question, [], near, full, in_corpus, THRESHOLDS) is None
    reason = retrieval_refusal(question, [], near, full, past, THRESHOLDS)
    assert reason is not None and "relevant enough" in reason and "2023-06-05" in reason


def test_the_window_refusal_is_only_said_when_the_corpus_has_nothing_from_the_window() -> None:
    week = DateWindow(dt.date(2023, 6, 2), DAY, "this week")
    old = [hit("old story", "2022-12-01", in_window=False)]
    # The corpus holds an article of 5 June: "no articles between 2 and 9 June" would be false.
    assert not window_is_empty(week, old, CORPUS, SETTINGS)
    empty_week = DateWindow(dt.date(2023, 3, 1), dt.date(2023, 3, 8), "in early March")
    assert window_is_empty(empty_week, old, CORPUS, SETTINGS)
    # A relevant undated article among the answer passages may be from that week: no claim about the window,
    # unless the window lies past the corpus's newest dated article (undated articles are from its span).
    assert not window_is_empty(empty_week, [*old, hit("undated", None, in_window=False)], CORPUS, SETTINGS)
    next_year = DateWindow(dt.date(2024, 5, 1), dt.date(2024, 5, 7), "this week")
    assert window_is_empty(next_year, [*old, hit("undated", None, in_window=False)], CORPUS, SETTINGS)
    assert window_is_empty(empty_week, [*old, hit("unrelated", None, cosine=0.05, in_window=False)], CORPUS,
                           SETTINGS)
    assert not window_is_empty(empty_week, [hit("in it", "2023-03-02", in_window=True)], CORPUS, SETTINGS)


def test_idf_coverage_forgives_a_missing_common_word_and_not_a_missing_rare_name(tmp_path: Path) -> None:
    # A corpus where "week" and "team" are in every chunk and "Varnholm" and "Ostrava" in one each.
    index = LexicalIndex.open(tmp_path)
    texts = [f"The team played a match this week, story {n}." for n in range(40)]
    texts += ["Varnholm harbour flooded this week; the team helped.", "Ostrava signed a striker this week."]
    index.apply([(chunk(t, "2023-06-05", title=f"T{n}"), t) for n, t in enumerate(texts)], [], generation=1)
    idf = Settings(index_dir=tmp_path, question_coverage_weights="idf", refusal_decision="thresholds")
    equal = Settings(index_dir=tmp_path, question_coverage_weights="equal", refusal_decision="thresholds")
    in_corpus = TimeStanding("in corpus", 200, None)

    # Missing the common "week" and "team": 3 of 5 terms named (60 %, refused when each counts alike), but most
    # of the question's weight is its rare words, which the passage names.
    question = "Which Varnholm harbour team flooded this week?"
    passage = [chunk("The Varnholm harbour flooded.", "2023-01-05")]
    hits = [Hit(chunk=passage[0], score=1.0, dense_score=0.6)]
    assert passage_coverage(question, passage, []) == 0.6  # varnholm, harbour, flood; not team, week
    assert retrieval_refusal(question, [], hits, passage, in_corpus, equal) is not None
    rarity = term_rarity(question, idf)
    assert rarity is not None and rarity.weight("varnholm") > 3 * rarity.weight("team")
    assert passage_coverage(question, passage, [], rarity) > 0.85
    assert term_rarity(question, equal) is None

    # Missing the rare name: the near miss of another place's news is refused, though 3 of 4 terms are named.
    asked = "Which Ostrava team flooded this harbour?"
    other = [chunk("The team's harbour flooded.", "2023-01-05")]
    other_hits = [Hit(chunk=other[0], score=1.0, dense_score=0.6)]
    assert passage_coverage(asked, other, []) == 0.75
    assert retrieval_refusal(asked, [], other_hits, other, in_corpus, equal) is None
    reason = retrieval_refusal(asked, [], other_hits, other, in_corpus, idf)
    assert reason is not None and "weighted by rarity" in reason
    assert retrieval_refusal(question, [], hits, passage, in_corpus, idf) is None
    # No lexical index: every term counts alike.
    assert term_rarity(question, Settings(index_dir=tmp_path / "none", question_coverage_weights="idf")) is None


def test_the_coverage_gate_slides_with_how_close_in_meaning_the_best_passage_is() -> None:
    in_corpus = TimeStanding("in corpus", 200, None)
    sliding = Settings(min_question_coverage=0.75, coverage_per_relevance=1.0, coverage_pivot_relevance=0.5,
                       refusal_decision="thresholds")
    assert thresholds(in_corpus, sliding, 0.5)[1] == 0.75
    assert abs(thresholds(in_corpus, sliding, 0.7)[1] - 0.55) < 1e-9  # close in meaning: fewer terms needed
    assert thresholds(in_corpus, sliding, 0.3)[1] == 0.75  # distant: the fixed share
    assert thresholds(in_corpus, sliding, 1.5)[1] == 0.0
    fixed = Settings(coverage_per_relevance=0.0)
    assert thresholds(in_corpus, fixed, 0.9)[1] == fixed.min_question_coverage
    # Current news and questions past the corpus keep their own gates.
    assert thresholds(TimeStanding("current", 3, None), sliding, 0.9)[1] == sliding.min_question_coverage_fresh

    # 3 of the question's 5 terms (60 %): refused when the passage is far in meaning, answered when close.
    question = "Which Varnholm harbour strike halted ferries?"
    passage = [chunk("Varnholm dock workers walked off the job, halting ferries.", "2023-01-05")]
    assert passage_coverage(question, passage, []) == 0.6
    far = [Hit(chunk=passage[0], score=1.0, dense_score=0.45)]
    close = [Hit(chunk=passage[0], score=1.0, dense_score=0.72)]
    assert "of the question's terms" in retrieval_refusal(question, [], far, passage, in_corpus, sliding)
    assert retrieval_refusal(question, [], close, passage, in_corpus, sliding) is None


# ------------------------------------------------------------------------------------ the combined decision

IN_CORPUS = TimeStanding("in corpus", 200, None)
CURRENT = TimeStanding("current", 3, None)


def features(coverage: float = 0.8, top: float = 0.6, best: float = 0.6, missing: int = 0,
             names: int = 1) -> RefusalFeatures:
    return RefusalFeatures(coverage=coverage, top_coverage=top, best=best,
                           missing_names=[f"name{i}" for i in range(missing)], asked_names=names, missing_numbers=[],
                           missing_editions=[])


def test_the_combined_model_leans_each_feature_the_way_it_should() -> None:
    base = REFUSAL_MODEL.log_odds(features())
    assert REFUSAL_MODEL.log_odds(features(coverage=1.0)) < base  # more of the question named: answerable
    assert REFUSAL_MODEL.log_odds(features(top=1.0)) < base  # ...in the first passage alone
    assert REFUSAL_MODEL.log_odds(features(best=0.75)) < base  # closer in meaning
    assert REFUSAL_MODEL.log_odds(features(missing=1)) > base  # a name of the question nowhere in the passages
    assert REFUSAL_MODEL.log_odds(features(names=4)) > base  # names alone lift coverage and cosine


def test_a_near_miss_inside_the_corpus_is_refused_and_a_close_passage_answered() -> None:
    """Asked a year later of last year's article about the same people: most terms and names match, the cosine
    is middling; the same passages close in meaning answer it."""
    question = "Which New Hampshire newspaper endorsed Nikki Haley in the Republican primary?"
    passage = chunk("Nikki Haley plans to visit New Hampshire, a key Republican primary state.", "2023-02-10")
    far = [Hit(chunk=passage, score=1.0, dense_score=0.5)]
    close = [Hit(chunk=passage, score=1.0, dense_score=0.8)]
    found = refusal_features(question, [], far, [passage], question)
    assert found.missing_names == [] and found.asked_names == 5 and 0.5 < found.coverage < 1.0
    reason = retrieval_refusal(question, [], far, [passage], IN_CORPUS, SETTINGS, asked=question)
    assert reason is not None and "near miss" in reason and "log-odds" in reason
    assert retrieval_refusal(question, [], close, [passage], IN_CORPUS, SETTINGS, asked=question) is None
    # A passage that misses one of its names is refused even when close in meaning.
    other = chunk("Nikki Haley plans to visit Iowa, a key Republican primary state.", "2023-02-10")
    near = [Hit(chunk=other, score=1.0, dense_score=0.7)]
    reason = retrieval_refusal(question, [], near, [other], IN_CORPUS, SETTINGS, asked=question)
    assert reason is not None and "'hampshire'" in reason


def test_passages_naming_every_term_and_name_pass_however_far_in_meaning() -> None:
    """A short question ("How many stops does the Green Line have?") is far from any passage in cosine; when the
    passages name all it asks, the model is not asked."""
    question = "How many stops does the Green Line have?"
    passage = chunk("The Green Line has 14 stops between the harbour and the university.", "2023-01-05")
    far = [Hit(chunk=passage, score=1.0, dense_score=0.25)]
    assert refusal_features(question, [], far, [passage], question).coverage == 1.0
    assert REFUSAL_MODEL.log_odds(refusal_features(question, [], far, [passage], question)) > \
        SETTINGS.refusal_threshold
    assert retrieval_refusal(question, [], far, [passage], IN_CORPUS, SETTINGS) is None
    # Still off-topic below the relevance floor.
    off = [Hit(chunk=passage, score=1.0, dense_score=0.05)]
    assert "relevant enough" in retrieval_refusal(question, [], off, [passage], IN_CORPUS, SETTINGS)


def test_current_news_is_refused_for_a_missed_year_or_edition_not_for_a_count_or_a_name() -> None:
    passage = chunk("President Biden designated a national monument around the Grand Canyon.", "2023-08-08")
    hits = [Hit(chunk=passage, score=1.0, dense_score=0.6)]
    named = "President Joe Biden designated a new national monument around which canyon?"
    assert retrieval_refusal(named, [], hits, [passage], CURRENT, SETTINGS, asked=named) is None
    counted = "President Biden designated his 5th national monument around which canyon?"
    reason = retrieval_refusal(counted, [], hits, [passage], CURRENT, SETTINGS, asked=counted)
    assert reason is not None and "'5'" in reason
    dated = "Which canyon did Biden make a national monument in 2022?"
    assert "'2022'" in retrieval_refusal(dated, [], hits, [passage], CURRENT, SETTINGS, asked=dated)
    # A count is a detail the article words its own way ("over 250 troopers" for "more than 200 officers").
    count = "President Biden designated two national monuments around which canyon?"
    assert retrieval_refusal(count, [], hits, [passage], CURRENT, SETTINGS, asked=count) is None
    # The lenient coverage gate of current news still holds.
    unrelated = "Which striker scored twice in the cup final replay?"
    assert "of the question's terms" in retrieval_refusal(unrelated, [], hits, [passage], CURRENT, SETTINGS)


def test_the_threshold_gates_stay_available() -> None:
    """RAG_REFUSAL_DECISION=thresholds: the coverage gate alone decides (a close passage naming most terms and
    missing a name passes here; the anchor check runs after generation)."""
    question = "Which New Hampshire newspaper endorsed Nikki Haley in the Republican primary?"
    other = chunk("Nikki Haley plans to visit Iowa, a key Republican primary state newspaper.", "2023-02-10")
    near = [Hit(chunk=other, score=1.0, dense_score=0.75)]
    assert retrieval_refusal(question, [], near, [other], IN_CORPUS, THRESHOLDS, asked=question) is None
    assert retrieval_refusal(question, [], near, [other], IN_CORPUS, SETTINGS, asked=question) is not None


def test_a_follow_up_keeps_the_threshold_gates() -> None:
    """The model was fitted on questions asked alone; a follow-up names its subject in the conversation."""
    assert decides_combined(IN_CORPUS, SETTINGS) and not decides_combined(IN_CORPUS, SETTINGS, follow_up=True)
    assert not decides_combined(IN_CORPUS, THRESHOLDS)
    question = "And how much money did the regional government promise farmers?"
    passage = chunk("The regional government promised farmers money: 15 million euros.", "2023-02-10")
    far = [Hit(chunk=passage, score=1.0, dense_score=0.3)]
    context = ["What happened at the Lindmoor reservoir?"]
    alone = retrieval_refusal(question, context, far, [passage], IN_CORPUS, SETTINGS, asked=question)
    assert alone is None  # every term named: passes either way
    other = chunk("The regional government met farmers on Monday.", "2023-02-10")
    near = [Hit(chunk=other, score=1.0, dense_score=0.3)]
    assert "near miss" in retrieval_refusal(question, context, near, [other], IN_CORPUS, SETTINGS, asked=question)
    reason = retrieval_refusal(question, context, near, [other], IN_CORPUS, SETTINGS, asked=question,
                               follow_up=True)
    assert reason is None or "near miss" not in reason


def test_current_news_is_refused_when_no_passage_names_any_name_of_the_question() -> None:
    """A fresh article on another subject ("The change costs 40,000 euros a year.") does not answer "How much did
    the Tessa bridge cost?": every name the question asks about is missing (walk-s10 item 1). One name of several
    missing ("Joe" of "Joe Biden") still passes."""
    passage = chunk("The Orsk public library will open until 22:00. The change costs 40,000 euros a year.",
                    "2026-11-25", title="Library extends opening hours")
    hits = [Hit(chunk=passage, score=1.0, dense_score=0.3)]
    question = "How much did the Tessa bridge cost?"
    reason = retrieval_refusal(question, [], hits, [passage], CURRENT, SETTINGS, asked=question)
    assert reason is not None and "'tessa'" in reason
    biden = chunk("President Biden designated a national monument around the Grand Canyon.", "2023-08-08")
    named = "President Joe Biden designated a new national monument around which canyon?"
    assert retrieval_refusal(named, [], [Hit(chunk=biden, score=1.0, dense_score=0.6)], [biden], CURRENT, SETTINGS,
                             asked=named) is None


NAMED_OTHERWISE = [  # review2 item 1: the article writes the question's name its own way
    ("How much did the Federal Reserve raise rates?", "The Fed raised rates by a quarter point on Wednesday."),
    ("How many people were hurt in the Los Angeles quake?", "The LA quake hurt 12 people."),
    ("What did the UK government announce?", "Britain's government announced a new tax."),
    ("How many goals did Manchester United score?", "Man Utd scored three goals against Chelsea."),
    ("What did Pope Francis say on Sunday?", "The pontiff said on Sunday that peace must come."),
]


def test_current_news_written_with_another_form_of_the_name_is_answered() -> None:
    """"the Fed", "LA", "Man Utd" name the question's name (a prefix, initials); "Britain" for "UK" or "the pontiff"
    for "Pope Francis" would need a table of aliases: the gate answers rather than refuses them. Only a one-word
    name no passage names ("Tessa", above) refuses current news."""
    for question, text in NAMED_OTHERWISE:
        passage = chunk(text, "2026-11-25")
        hits = [Hit(chunk=passage, score=1.0, dense_score=0.6)]
        assert retrieval_refusal(question, [], hits, [passage], CURRENT, SETTINGS, asked=question) is None, question
