"""Which sentence of the handed passages answers the question: features of each sentence and the linear scorer
over them that ranks the extractive answer's sentences and the local backend's verified quotation.

A sentence's score is `WEIGHTS · sentence_features(...)`: the earlier 0.6 cosine + 0.4 coverage − 0.01 per passage
+ 0.1 answer cue, plus the answer-type features chosen on held-out news23 questions (docs/design.md, "Sentence
ranking"; `python -m rag.evals.fit_ranker` measures weights and fits a conditional logit over these features).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.answer.citations import split_sentences
from rag.answer.text import (
    MONTH_WORDS,
    STOPWORDS,
    WEEKDAY_WORDS,
    answer_cue_for,
    asked_terms,
    content_terms,
    headline_end,
    looks_like_instruction,
    weighted_share,
    without_context,
)
from rag.types import Chunk

FEATURES = (
    "cosine",  # MiniLM cosine of sentence and question
    "coverage",  # share of the question's terms the sentence names (title-aware when asked)
    "passage",  # passage number - 1: retrieval's order
    "cue",  # text.answer_cue: a new name / number of the broad kind asked for
    "typed",  # a new span of the asked type: person, place, time, quantity (text below)
    "unit",  # "how many centuries?": a new number with the question's unit word right after it
)

# The typed and unit weights and the margin were chosen on HELDOUT.jsonl (398 answerable news23
# questions not in news23-small, written by `python -m rag.evals.heldout`) among those that keep SQuAD and the sample set no worse; a freely fitted logit
# won more on news but lost on both (docs/benchmarks.md#sentence-ranking-issue-12).
WEIGHTS = np.array([0.6, 0.4, -0.01, 0.1, 0.1, 0.1])

# A second sentence joins the extractive answer when its score is within this margin of the best one's.
SECOND_SENTENCE_MARGIN = 0.1

_PERSON_NOUNS = frozenset(
    """actor actress singer player golfer musician rapper artist author writer person man woman celebrity star
    comedian host anchor director coach quarterback pitcher athlete president leader minister senator politician
    candidate ceo founder billionaire executive judge chef designer model driver boxer tennis dancer figure
    character journalist lawmaker congressman congresswoman governor mayor scientist astronaut activist pope king
    queen prince princess chancellor""".split()
)
_PLACE_NOUNS = frozenset(
    """state country city town nation region island county province continent capital place location venue
    airport port village area""".split()
)
_TIME_UNITS = frozenset(content_terms("seconds minutes hours days weeks months years"))
_MONEY_UNITS = frozenset(content_terms("dollars million billion trillion pounds euros")) | {"$"}
_NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
    eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands
    million millions billion billions trillion dozen dozens half""".split()
)
_TOKEN_RE = re.compile(r"\$?\d+(?:[.,:]\d+)*%?|[\w’'-]+")
_YEAR_RE = re.compile(r"^(?:1[89]\d\d|20\d\d)s?$")
_DIGITS_RE = re.compile(r"\d")
_PREPOSITIONS = frozenset("in at from near to of across into outside inside".split())
_WH_RE = re.compile(r"\b(?:who|whom|whose|what|which|where|when|how)\b", re.IGNORECASE)


@dataclass(frozen=True)
class QuestionProfile:
    """The question's side of the features, worked out once per question."""

    kind: str  # "person", "place", "time", "quantity", "name" (which/what …), or "" (yes/no, why …)
    units: frozenset[str]  # stems of the unit words a quantity's number should be followed by
    named: frozenset[str]  # the question's words, lower case


def question_profile(question: str) -> QuestionProfile:
    asking = _asking_sentence(question)
    kind, units = _answer_kind(asking)
    named = frozenset(t.lower() for t in _TOKEN_RE.findall(question))
    return QuestionProfile(kind, units, named)


def _asking_sentence(question: str) -> str:
    """"Huge crowds lined the streets this week. Which country …?": the sentence that asks, not the set-up nor a
    follow-up's "(context: …)" note."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+", without_context(question).strip()) if p]
    asking = [p for p in parts if _WH_RE.search(p)]
    return asking[-1] if asking else without_context(question)


def _answer_kind(asking: str) -> tuple[str, frozenset[str]]:
    """The kind of span the question asks for, and for a quantity the stems of the unit words that follow a
    number that answers it ("how many centuries" → centuri; "in what time" → second, minute, …)."""
    text = asking.lower()
    many = re.search(r"\bhow (many|much)\b((?: [\w’'-]+){0,3})", text)
    if many:
        # "how many alleged gang members": any of the next three words ("70,000 active gang members").
        units = frozenset(content_terms(" ".join(w for w in many.group(2).split() if w != "money")))
        return "quantity", units or (_MONEY_UNITS if many.group(1) == "much" else frozenset())
    if re.search(r"\bhow (?:long|fast)\b|\b(?:what|which) time\b", text):
        return "quantity", _TIME_UNITS
    if re.search(r"\bhow (?:old|far|big|tall|high|large|deep|wide|heavy|hot|cold|often)\b"
                 r"|\bwhat (?:percentage|percent|number|amount|price|score|age)\b", text):
        return "quantity", frozenset()
    # "when" that asks ("When was …?", "since when"), not the conjunction of a set-up ("… this week when it
    # announced it would part ways with which host?").
    if re.search(r"^\W*when\b|\bwhen (?:did|does|do|was|were|is|are|will|would|has|have|had|can|could)\b"
                 r"|\bsince when\b|\b(?:what|which) (?:year|date|day|month)\b", text):
        return "time", frozenset()
    if re.search(r"\bwho(?:m|se)?\b", text):
        return "person", frozenset()
    if re.search(r"\bwhere\b", text):
        return "place", frozenset()
    asked = re.search(r"\b(?:which|what) ((?:[\w’'-]+ ?){1,3})", text)
    nouns = {w.rstrip("s") for w in asked.group(1).split()} | set(asked.group(1).split()) if asked else set()
    if nouns & _PERSON_NOUNS:
        return "person", frozenset()
    if nouns & _PLACE_NOUNS:
        return "place", frozenset()
    if re.search(r"\b(?:which|what|name|called|named)\b", text):
        return "name", frozenset()
    return "", frozenset()


def _stem(word: str) -> str:
    return (content_terms(word) or [word])[0]


@dataclass
class SentenceRow:
    sentence: str
    passage: int  # 1-based passage number
    position: int  # sentence index within its passage


def text_sentences(chunk: Chunk) -> list[str]:
    """The sentences of a passage's text, less the headline line that opens an article's first passage when it is
    the passage's title (an HTML or plain-text article's first line): the title is read apart (a passage's header
    in the prompt, title-aware coverage), never as a sentence that answers."""
    sentences = split_sentences(chunk.text)
    if sentences and headline_end(sentences[0], chunk.title) == len(sentences[0]):
        return sentences[1:]
    return sentences


def passage_sentences(passages: list[Chunk]) -> list[SentenceRow]:
    """The passages' sentences that could answer: fragments and text that reads as instructions to us rather
    than news are left out."""
    rows = []
    for n, chunk in enumerate(passages, start=1):
        for i, sentence in enumerate(text_sentences(chunk)):
            if len(content_terms(sentence)) >= 3 and not looks_like_instruction(sentence):
                rows.append(SentenceRow(sentence, n, i))
    return rows


def feature_matrix(question: str, rows: list[SentenceRow], passages: list[Chunk], cosines: np.ndarray,
                   title_aware: bool) -> np.ndarray:
    """One row of FEATURES per sentence row. `title_aware`: coverage counts the question's terms its passage's
    title does not already name (as evidence selection does)."""
    profile = question_profile(question)
    q_terms = asked_terms(question)  # a follow-up's context terms count less than its own (text.asked_terms)
    wanted_in = [(_without(q_terms, set(content_terms(p.title))) if title_aware else q_terms) or q_terms
                 for p in passages]
    cue = answer_cue_for(question)
    out = np.zeros((len(rows), len(FEATURES)))
    for r, (row, cosine) in enumerate(zip(rows, cosines, strict=True)):
        out[r] = sentence_features(profile, row, float(cosine), wanted_in[row.passage - 1], cue(row.sentence))
    return out


def _without(wanted: dict[str, float], named: set[str]) -> dict[str, float]:
    return {t: w for t, w in wanted.items() if t not in named}


def sentence_features(profile: QuestionProfile, row: SentenceRow, cosine: float, wanted: dict[str, float],
                      cue: float) -> list[float]:
    """`wanted`: the question's terms with their weights (text.asked_terms); coverage is the weighted share named."""
    tokens = _TOKEN_RE.findall(row.sentence)
    coverage = weighted_share(wanted, set(content_terms(row.sentence)))
    typed, unit = typed_span(profile, tokens)
    return [cosine, coverage, float(row.passage - 1), cue, typed, unit]


def typed_span(profile: QuestionProfile, tokens: list[str]) -> tuple[float, float]:
    """(match, unit): how well the sentence holds a span of the asked kind that the question does not name (1.0
    a clear one: a year for "when", a two-word name for "who", a name after "in"/"at"/"from" for "where", a
    number for "how many"; 0.5 a weak one: a weekday, a single capitalised word), and whether a quantity's unit
    word follows its number ("six centuries" for "how many centuries")."""
    kind = profile.kind
    best = 0.0
    if not kind:
        return best, 0.0
    for i, token in enumerate(tokens):
        low = token.lower()
        if low in profile.named:
            continue
        score = 0.0
        if kind in ("quantity", "name") and _is_number(low):
            score = 1.0 if kind == "quantity" else 0.5
            # the unit may follow the number or be joined to it: "six hours", "a two-week period", "$5"
            joined = [_stem(part) for part in low.split("-")[1:] if part]
            following = {_stem(t.lower()) for t in tokens[i + 1: i + 4]} | set(joined) | (
                {"$"} if low.startswith("$") else set())
            if profile.units & following:
                return 1.0, 1.0
        elif kind == "time" and (_YEAR_RE.match(low) or low in MONTH_WORDS or low in WEEKDAY_WORDS):
            score = 0.5 if low in WEEKDAY_WORDS else 1.0
        elif kind in ("person", "place", "name") and _is_name(token, i, tokens):
            if kind == "place":
                score = 1.0 if i > 0 and tokens[i - 1].lower() in _PREPOSITIONS else 0.5
            else:
                score = 1.0 if i + 1 < len(tokens) and _is_name(tokens[i + 1], i + 1, tokens) else 0.5
        best = max(best, score)
    return best, 0.0


def asked_span(profile: QuestionProfile, sentence: str, opening: bool = False) -> tuple[float, float]:
    """typed_span of a sentence: how clearly it holds a span of the kind the question asks for that the question
    does not name (1.0 clear, 0.5 weak, 0.0 none), and whether a quantity's unit word follows its number: what
    lets a sentence lead the shown answer (rag/answer/policy.py LeadOrder). `opening`: for a place or another
    name, the sentence's first word counts too ("Vermont received the most rain"), as it does in the model's
    short answers (an article's sentence opens with "Police", "Storms" as often)."""
    tokens = _TOKEN_RE.findall(sentence)
    match, unit = typed_span(profile, tokens)
    if opening and not match and profile.kind in ("place", "name") and tokens and _is_name(tokens[0], 1, tokens) \
            and tokens[0].lower() not in profile.named:
        match = 0.5  # (position 1 passed: _is_name's rule for a sentence's first word is what is lifted here)
    return match, unit


def _is_number(low: str) -> bool:
    return bool(_DIGITS_RE.search(low)) or low in _NUMBER_WORDS or low.split("-")[0] in _NUMBER_WORDS  # "two-week"


def _is_name(token: str, i: int, tokens: list[str]) -> bool:
    """A capitalised word that is not a stopword, a month or a day (or the sentence's first word, unless the
    next one is capitalised too: "Julianne Hough is …")."""
    low = token.lower()
    if not token[:1].isupper() or low in STOPWORDS or low in MONTH_WORDS or low in WEEKDAY_WORDS:
        return False
    if i == 0:
        return i + 1 < len(tokens) and tokens[1][:1].isupper() and tokens[1].lower() not in STOPWORDS
    return True
