"""Parse `[n]` citations out of an answer, drop numbers that name no passage, renumber in order of first use."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.answer.text import STOPWORDS

# [1]  [1][2]  [1, 2]  [1,2,3]  [1-3]  [1–3]  (the last two are ranges some models write)
CITATION_RE = re.compile(r"\[\s*(\d+(?:\s*(?:,|-|–)\s*\d+)*)\s*\]")
# A sentence ends at . ! ? (optionally closing quotes/brackets), then any citation markers that follow the full
# stop ("... in June. [2]" — they belong to the sentence before), then space and an upper-case letter or digit.
_BOUNDARY_RE = re.compile(r"[.!?…][\"'”’)]*((?:\s*\[\s*\d[\d\s,\-–]*\])*)\s+(?=[\"“(]?[A-Z0-9])")
# Titles and name prefixes that stand before a name ("Democrat Rep. Jennifer McClellan", "Gov. Phil Scott",
# "Mt. Everest"): a sentence never ends at one. The splitter never ends one there, so a sentence that ends with one
# was cut off (a passage's end, a model's last words): rag/answer/policy.py's ShownFilter reads it as debris.
NAME_TITLES = ("Mr.", "Mrs.", "Ms.", "Prof.", "Gen.", "Lt.", "Col.", "Rep.", "Reps.", "Sen.", "Sens.", "Gov.",
               "Pres.", "Rev.", "Sgt.", "Capt.", "Adm.", "Maj.", "Supt.", "Mt.", "Ft.")
# Full stops that end no sentence: the titles, and abbreviations that may also end one ("on Main St.", "in the
# U.S.", "Acme Co.", "at 1 Via de Luna Dr.": "Dr." is a title and a street; a sentence is never split after them,
# see _BOUNDARY_RE).
_ABBREVIATIONS = (*NAME_TITLES, "Dr.", "St.", "U.S.", "U.K.", "No.", "vs.", "e.g.", "i.e.", "Jan.", "Feb.", "Aug.", "Sept.",
                  "Oct.", "Nov.", "Dec.", "Inc.", "Ltd.", "Co.")
# Words that open a sentence: after "Plan B." or "Robert Downey Jr." they mean a new sentence has begun.
_OPENERS = (
    "The|A|An|After|Before|In|On|At|It|He|She|They|We|I|This|That|These|Those|But|And|So|Then|When|While|If|As|"
    "Its|His|Her|Their|There|Here|Later|Meanwhile|However|Also|For|With|By|From|To|Of|What|Who|Why|How|Where|"
    "Which|One|Some|Many|Most|All|No|Now|Still|Yet|Since|Although|Despite|During|Under|Over|Today|Yesterday|"
    "Last|Next|Our|My|Your|You|"
    # Plural nouns and quantifiers that open news sentences and are nobody's surname ("Plan B. Officials agreed.",
    # "… Murdaugh Jr. Both conspiracy cases …"; not "Police": "the Kenneth Ross Jr. Police Decertification Act").
    "Both|Each|Every|Several|Few|Other|Others|Such|Two|Three|Four|Five|Officials|Authorities|Residents|"
    "Experts|Critics|Analysts|Investigators|Prosecutors|Lawmakers|Leaders|Workers|Voters|Scientists|Researchers|"
    "Doctors|Witnesses|Protesters|Officers|Troops|Firefighters|Students|Parents|Fans|Players|Shares|Prices"
)
# Full stops that do not end a sentence: a middle initial ("John F. Kennedy", not "Plan B. The …"), "Jr."/"Sr."
# before more of the name ("Martin Luther King Jr. Day"), and a clock time before its zone or day ("11 p.m. ET",
# "8 a.m. Tuesday"; not "9 p.m. CBS will …"). A word still being written at the end of the text counts as
# possibly one of them, so a streamed answer never gives out "President John F." before "Kennedy" arrives.
_ZONES = "ET|EST|EDT|CT|CST|CDT|MT|MST|MDT|PT|PST|PDT|GMT|BST|UTC|local|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_NOT_A_BOUNDARY_RE = re.compile(
    rf"\b([A-Z][a-z]+ [A-Z]|(?:Jr|Sr))\.(?= (?!(?:{_OPENERS})\b)[A-Z][a-z]| [A-Za-z]{{0,9}}$|$)"
    rf"|\b([ap]\.m)\.(?= (?:{_ZONES})\b| [A-Za-z]{{0,9}}$|$)"
)

# A headline on a line of its own before the text (an HTML or plain-text article's first line, a markdown heading):
# no full stop ends it, so without this rule it was read as one sentence with the lede after it ("Aldora and Vesmark
# clash over Tidewater Canal tolls\nA dispute between …"). Only the FIRST line of a text or of a paragraph (after a
# blank line) can be a headline: a line break inside hard-wrapped prose ("… Secretary of Defense\nLloyd Austin …",
# a PDF's "… the city would ask\nPresident Joe Biden …") never ends a sentence. That line reads as a headline when it
# is at most HEADLINE_MAX_CHARS (as loaders.first_line_title), two words or more, ending in a letter or digit but
# not in a function word ("… the governments of\nAldora") nor one letter (a formula's "Breathing pure O\n2 …") nor a
# verb after a modal ("… it would raise\nThe minimum wage …"), with no quotation left open; the next line starts
# with a capital or a quotation mark and is clearly longer (a hard-wrapped paragraph's first line is about as long
# as its second), and the text after it is longer than both the headline and WRAPPED_LINE_CHARS.
HEADLINE_MAX_CHARS = 150
WRAPPED_LINE_CHARS = 80
HEADLINE_LINE_SHARE = 0.75  # a headline is at most this share of the next line's length
_HEADLINE_RE = re.compile(r"[^\S\n]*(?P<line>[^\n]*\w)[^\S\n]*\n(?=[^\S\n]*(?P<next>[\"“(]?[A-Z][^\n]*))")
_MODALS = frozenset("would will could can should may might must shall to did does do".split())


def _headline_end(block: str, line_start: bool = True) -> int | None:
    """Offset of the line break in `block` that ends its first line when that line is a headline. `line_start`: the
    block's first characters start a line (a streamed answer's unreleased text may start within one: its first line
    is no headline)."""
    match = _HEADLINE_RE.match(block)
    if match is None or not line_start:
        return None
    line, next_line = match.group("line"), match.group("next").rstrip()
    following = " ".join(block[match.end() :].split())
    words = line.split()
    last = words[-1].strip("()[]\"'“”‘’").lower() if words else ""
    before_last = words[-2].strip("()[]\"'“”‘’").lower() if len(words) >= 2 else ""
    open_quote = line.count('"') % 2 == 1 or line.count("“") > line.count("”")
    if (len(line) <= HEADLINE_MAX_CHARS and len(words) >= 2 and len(last) >= 2 and last not in STOPWORDS
            and before_last not in _MODALS and not open_quote
            and len(line) <= HEADLINE_LINE_SHARE * len(next_line)
            and len(following) > max(WRAPPED_LINE_CHARS, len(line))):
        return match.end() - 1
    return None


@dataclass
class CitedSentence:
    text: str  # the sentence without its citation markers
    citations: list[int] = field(default_factory=list)  # renumbered, in order of appearance
    supported: bool | None = None  # set by the citation check
    support: float | None = None


@dataclass
class ParsedAnswer:
    text: str  # the answer with citations renumbered, e.g. "… in June [1]. … [2][1]."
    sentences: list[CitedSentence]
    order: list[int]  # order[i] = original passage number (1-based) of new citation i + 1
    dropped: list[int]  # citation numbers that named no passage


def _expand(group: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*,\s*", group.strip()):
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            lo, hi = int(bounds[0]), int(bounds[1])
            # A long range is more likely a typo than a real citation of many passages.
            numbers.extend(range(lo, hi + 1) if 0 < hi - lo < 10 else [lo, hi])
        elif part.isdigit():
            numbers.append(int(part))
    return numbers


def split_sentences(text: str, line_start: bool = True) -> list[str]:
    """Split prose into sentences, keeping each sentence's trailing citation markers with it. `line_start=False`:
    the text starts inside a line (a streamed answer's rest), so its first line is not read as a headline."""
    protected = _NOT_A_BOUNDARY_RE.sub(lambda m: f"{m.group(1) or m.group(2)}\x01", text)
    for i, abbr in enumerate(_ABBREVIATIONS):
        protected = protected.replace(abbr, abbr.replace(".", f"\x00{i}\x00"))
    parts: list[str] = []
    # Paragraphs and list items are always separate sentences.
    blocks = re.split(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+\.)\s)", protected)
    for b, whole in enumerate(blocks):
        headline_end = _headline_end(whole, line_start=line_start or b > 0)
        cuts = [] if headline_end is None else [headline_end]
        for block in (whole[i + 1 if i >= 0 else 0 : j] for i, j in zip([-1, *cuts], [*cuts, len(whole)], strict=True)):
            start = 0
            for match in _BOUNDARY_RE.finditer(block):
                parts.append(block[start : match.end(1) if match.group(1) else match.start(1)])
                start = match.end()
            parts.append(block[start:])
    restored = []
    for part in parts:
        for i, abbr in enumerate(_ABBREVIATIONS):
            part = part.replace(abbr.replace(".", f"\x00{i}\x00"), abbr)
        part = part.replace("\x01", ".").strip()
        if part:
            restored.append(part)
    return restored


def parse_citations(answer: str, passage_count: int) -> ParsedAnswer:
    """Renumber citations by first use over the passages that exist (1..passage_count)."""
    order: list[int] = []
    dropped: list[int] = []

    def renumber(match: re.Match[str]) -> str:
        out = []
        for n in _expand(match.group(1)):
            if not 1 <= n <= passage_count:
                if n not in dropped:
                    dropped.append(n)
                continue
            if n not in order:
                order.append(n)
            new = f"[{order.index(n) + 1}]"
            if new not in out:
                out.append(new)
        return "".join(out)

    renumbered = CITATION_RE.sub(renumber, answer)
    renumbered = re.sub(r"(\[\d+\])(?:\s*\1)+", r"\1", renumbered)  # "[1][1]" → "[1]"
    # Tidy what removed markers leave behind: "word ." → "word.", double spaces.
    renumbered = re.sub(r"[ \t]+([.,;:!?])", r"\1", renumbered)
    renumbered = re.sub(r"[ \t]{2,}", " ", renumbered).strip()
    sentences = []
    for sentence in split_sentences(renumbered):
        numbers = []
        for group in CITATION_RE.findall(sentence):
            for n in _expand(group):
                if n not in numbers:
                    numbers.append(n)
        bare = CITATION_RE.sub("", sentence)
        bare = re.sub(r"\s+([.,;:!?])", r"\1", bare)
        bare = re.sub(r"\s{2,}", " ", bare).strip()
        if bare:
            sentences.append(CitedSentence(text=bare, citations=numbers))
    return ParsedAnswer(text=renumbered, sentences=sentences, order=order, dropped=dropped)


def strip_citations(text: str) -> str:
    bare = re.sub(r"\s+([.,;:!?])", r"\1", CITATION_RE.sub("", text))
    return re.sub(r"\s{2,}", " ", bare).strip()
