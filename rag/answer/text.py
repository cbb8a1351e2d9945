"""Small text utilities shared by the answerers and the citation check."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

_WORD_RE = re.compile(r"[\w][\w'’]*", re.UNICODE)  # hyphens split: "sixteen-year-old" names "old"
STOPWORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "there", "here", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "do", "does", "did", "done", "have", "has", "had", "having", "not", "no", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "i", "you", "he", "she", "we", "they", "them", "his", "her", "their", "our", "your", "my", "me", "us", "about", "into", "over", "under", "after", "before", "than", "then", "so", "such", "also", "just", "very", "more", "most", "some", "any", "each", "other", "only", "own", "same", "too", "s", "t", "don", "now", "up", "down", "out", "off", "again", "further", "once", "during", "while", "both", "few", "nor", "until", "against", "between", "through"]
)


@lru_cache(maxsize=1)
def _stemmer():  # noqa: ANN202
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    return [w.lower().strip("'’-") for w in _WORD_RE.findall(text)]


# The note the heuristic follow-up rewrite appends (rag/answer/generate.py heuristic_rewrite): "Who led it?
# (context: What was the military exercise in Serbia called?)". It names what the follow-up is about, not what it asks.
_CONTEXT_NOTE_RE = re.compile(r"\s*\(context: .*\)\s*$", re.DOTALL)


def without_context(question: str) -> str:
    """The question without a rewrite's trailing "(context: …)" note: the part that says what kind of answer is
    asked for ("Who led it?" asks for a person, whatever its context asked)."""
    return _CONTEXT_NOTE_RE.sub("", question) or question


def context_as_words(question: str) -> str:
    """A follow-up with its context note's words as part of the question ("How long did it last? (What was the
    military exercise in Serbia called?)"): what the refusal gates judge the passages by, without the note's label."""
    match = _CONTEXT_NOTE_RE.search(question)
    if not match:
        return question
    return f"{question[:match.start()]} ({match.group(0).strip()[len('(context: '):]}"


# A follow-up's context note names what it is about, its own words what it asks: a context term counts this much of
# one of the follow-up's own terms in a sentence's coverage (text.asked_terms). Sample f03 "Where will the talks take
# place? (context: What did Vesmark announce about the Tidewater Canal?)": counted alike (1.0), the lede about the
# tolls beat "Talks … are due to begin in Geneva"; left out (0.0), f02's "How much did it cost? (context: When did
# the tram line in Varnholm open?)" quoted another article's cost. 0.25 answers both (0.5 loses f03 in the extractive
# answer); chosen on the sample set's five follow-ups, as no held-out set has follow-ups
# (docs/benchmarks.md#titles-repeats-and-follow-up-places-in-the-answer-session-10-issue-12).
CONTEXT_TERM_WEIGHT = 0.25


def asked_terms(question: str, terms: Callable[[str], list[str] | set[str]] | None = None) -> dict[str, float]:
    """The terms (content_terms, or `terms`) a sentence that answers should name, each with its weight: 1.0 for the
    question's own, CONTEXT_TERM_WEIGHT for those only a follow-up's "(context: …)" note names."""
    terms = terms or content_terms
    own = set(terms(without_context(question)))
    weights = {t: CONTEXT_TERM_WEIGHT for t in terms(question) if t not in own}
    return {**weights, **dict.fromkeys(own, 1.0)}


def weighted_share(wanted: dict[str, float], named: set[str]) -> float:
    """The weighted share of `wanted` terms that `named` holds (0.0 when nothing is wanted)."""
    total = sum(wanted.values())
    return sum(w for t, w in wanted.items() if t in named) / total if total else 0.0


_POSSESSIVE_RE = re.compile(r"(?<=\w)['’]s\b")


def without_possessives(text: str) -> str:
    """"NBA’s top scorer" → "NBA top scorer": a possessive names its noun, whichever apostrophe it is written
    with (the coverage gate counted "storm’s" and "storm" as different terms)."""
    return _POSSESSIVE_RE.sub("", text)


# Calendar words (English, whatever the process locale): a question's time, not a name it asks about.
MONTH_WORDS = frozenset(
    "january february march april may june july august september october november december jan feb mar apr jun "
    "jul aug sep sept oct nov dec".split()
)
WEEKDAY_WORDS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())

# Light verbs and question-frame nouns: they shape a question but name nothing a passage must contain.
_QUESTION_FRAME = frozenset(
    """name names many much long time times year years day days people number amount kind type way ways place
    part happen happened get got go went take took make made want wants give gave put come came keep kept tell
    say said called according main thing things""".split()
)


def question_terms(question: str) -> set[str]:
    """The content terms of a question that an answering passage should mention."""
    return set(content_terms(" ".join(w for w in words(without_possessives(question)) if w not in _QUESTION_FRAME)))


# What a question asks for: a quantity or time ("how many", "in what time", "when") is answered by a number; a
# "which / who / what … called" question by a name.
_ASKS_QUANTITY_RE = re.compile(
    r"\bhow (?:many|much|long|old|far|big|tall|fast|high)\b|\bwhen\b"
    r"|\bwhat (?:percentage|percent|number|amount|year|time|age|price|score)\b", re.IGNORECASE)
_ASKS_NAME_RE = re.compile(r"\b(?:who|whom|whose|which|where|name|called|named)\b", re.IGNORECASE)
_ASKS_WHAT_RE = re.compile(r"\bwhat\b", re.IGNORECASE)  # a name or an amount: "what is the minimum fine?"
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_TOKEN_RE = re.compile(r"[\w’'-]+")


def answer_cue(question: str, sentence: str) -> float:
    """1.0 if the sentence holds the kind of thing the question asks for and does not name: a number not in the
    question for "how many …?", a capitalised word not in the question (not the sentence's first word) for
    "which team …?", either for a plain "what …?". A sentence that only restates the question ("Damar Hamlin
    suffered an on-field medical emergency") carries no answer; "Buffalo Bills safety Damar Hamlin …" does."""
    return answer_cue_for(question)(sentence)


def answer_cue_for(question: str) -> Callable[[str], float]:
    """answer_cue with the question's side worked out once, for ranking many sentences against one question."""
    asked_numbers = set(_NUMBER_RE.findall(question))
    named = {w.lower() for w in _TOKEN_RE.findall(question)}
    asking = without_context(question)  # a follow-up's kind is its own ("Who led it? (context: When …?)")

    def new_number(sentence: str) -> bool:
        return any(n not in asked_numbers for n in _NUMBER_RE.findall(sentence))

    def new_name(sentence: str) -> bool:
        return any(t[0].isupper() and t.lower() not in named for t in _TOKEN_RE.findall(sentence)[1:])

    if _ASKS_QUANTITY_RE.search(asking):
        return lambda sentence: float(new_number(sentence))
    if _ASKS_NAME_RE.search(asking):
        return lambda sentence: float(new_name(sentence))
    if _ASKS_WHAT_RE.search(asking):
        return lambda sentence: float(new_name(sentence) or new_number(sentence))
    return lambda sentence: 0.0


def coverage(question: str, passages: list[str], context: list[str] | None = None,
             weight: Callable[[str], float] | None = None) -> float:
    """Share of the question's terms found in the passages or in the conversation's earlier turns (a follow-up
    may name what was said before rather than what the passage says), each term counted by `weight` when given
    (its rarity: rag/answer/gates.py), else alike. 1.0 for a question with no terms."""
    wanted = question_terms(question)
    if not wanted:
        return 1.0
    found: set[str] = set()
    for text in [*passages, *(context or [])]:
        found.update(content_terms(without_possessives(text)))
    if weight is None:
        return len(wanted & found) / len(wanted)
    total = sum(weight(t) for t in wanted)
    return sum(weight(t) for t in wanted & found) / total if total else 1.0


def content_terms(text: str) -> list[str]:
    """Stemmed words without stopwords: what a question asks about."""
    kept = [w for w in words(text) if w and w not in STOPWORDS]
    return _stemmer().stemWords(kept)


# Instruction-like text inside an article: never repeated as an answer sentence (defence in depth; the prompt
# already tells the model that passages are data).
_INJECTION_RE = re.compile(
    r"ignore (all |any |the )?(previous|prior|above|earlier|your) (instructions|rules|prompts?)"
    r"|system prompt|disregard (the|your|all)|you are now|from now on|new instructions|<\s*/?\s*(script|iframe)"
    r"|\bassistant\s*:|\bsystem\s*:|reply (only )?with|respond (only )?with|https?://|!\[[^\]]*\]\(",
    re.IGNORECASE,
)


def looks_like_instruction(text: str) -> bool:
    return bool(_INJECTION_RE.search(text))


def headline_end(text: str, title: str) -> int:
    """Where `text` goes on past its first line when that line is the article's headline `title` (a plain-text
    article's first line, a Markdown heading: '#'s, case and spacing aside), else 0. The one rule for "is this line
    the headline" of the candidate sentences (ranking.text_sentences), the digest's ledes and the sources panel."""
    first = text.split("\n", 1)[0]
    if not title.split() or _heading_words(first) != _heading_words(title):
        return 0
    rest = text[len(first) :]
    return len(text) - len(rest.lstrip())


def _heading_words(text: str) -> list[str]:
    return text.strip().lstrip("#").casefold().split()


def lowered_opener(text: str) -> str:
    """The sentence to follow a prefix ("As of 4 May 2023, …", "on 28 November, …"): its first word lower-cased only
    when it is a common sentence opener (_COMMON_FIRST: "However" → "however", "The" → "the", "That’s" → "that’s");
    any other capitalised word may be a name ("Italy", "Boeing", "Turkey", "Emily") and stays as written, and so
    does a word in capitals ("LATEST", "NFL") or "I"."""
    match = re.match(r"(?!I\b)([A-Z][a-z]*(?:['’][a-z]+)?)(?=[\s,;:])", text)
    first = re.split(r"['’]", match.group(1).lower())[0] if match else ""  # "That’s", "Here's"
    # Before a capitalised word, an opener may be part of a name ("One Direction", "No Labels", "It Ends With Us");
    # an article, preposition or conjunction is not ("The Hague" reads "the Hague", "In Washington" "in Washington").
    in_name = first not in _NEVER_IN_NAMES and re.match(r"\S+\s+[A-Z]", text) is not None
    if match and first in _COMMON_FIRST and not in_name:
        return match.group(1).lower() + text[match.end(1):]
    return text


# Sentence openers that are never names: a fixed list (a word not in it stays capitalised: a name lower-cased
# reads wrong, "As of 4 May 2023, italy won …", a common word capitalised only reads stiff). Articles,
# prepositions, conjunctions and the like never start a name; the others may, before a capitalised word ("One
# Direction", "It Ends With Us").
_NEVER_IN_NAMES = frozenset("""the a an in on at after before according however meanwhile but and so when while
    although though since despite during for with by from to of over under about as if because earlier later today
    yesterday tonight officials police authorities experts scientists researchers hundreds thousands dozens millions
    nearly almost also still yet there here""".split())
_COMMON_FIRST = _NEVER_IN_NAMES | frozenset("""it this these those that he she they we you his her their its our my
    your some many most several both all each every one two three four five six seven eight nine ten no not now then
    last next what who which where why how more less only other another such once until unlike instead""".split())
