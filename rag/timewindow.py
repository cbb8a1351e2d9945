"""News is time: the as-of date of a question, and the date window its time words name.

`parse_as_of("2023/05/11")` reads the date a question is asked on (YYYY-MM-DD or YYYY/MM/DD; None is today).
`resolve_window("Who won the election last month?", as_of)` turns the question's time expression into an
inclusive date window relative to the as-of date, or None when the question names no time. Relative periods
("this week", "last month", "recently") are our own rules, because their meaning in news is a convention
(below); explicit dates ("May 3", "3 March 2022", "2023-05-03") go through `dateparser`, anchored at the
as-of date and preferring the past, since a question about the news is about what has happened.

Conventions (docs/time.md):
- this week / past week = the 7 days before the as-of date, and the as-of date itself
- last week = the calendar week (Monday–Sunday) before the as-of date's week
- recently / lately / latest = the 30 days before the as-of date
- this month / this year = from the first day of the period to the as-of date
- a month or a day without a year = the most recent one not after the as-of date
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from rag.errors import AsOfError

__all__ = ["AsOfError", "DateWindow", "date_int", "format_day", "parse_as_of", "resolve_window", "time_only"]


_AS_OF_RE = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})\s*$")


def parse_as_of(value: str | dt.date | None, name: str = "as-of date") -> dt.date:
    """YYYY-MM-DD or YYYY/MM/DD → date; None or "" → today (the machine's local date)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None or not str(value).strip():
        return dt.date.today()
    match = _AS_OF_RE.match(str(value))
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise AsOfError(f"{name} must be a date like 2023-05-11 or 2023/05/11, got {value!r}")


def date_int(day: dt.date) -> int:
    """The YYYYMMDD integer the index stores as `date_int`."""
    return day.year * 10000 + day.month * 100 + day.day


def format_day(day: dt.date) -> str:
    """11 May 2023"""
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


@dataclass(frozen=True)
class DateWindow:
    """An inclusive range of publication dates; either end may be open. `phrase` is the text that set it."""

    since: dt.date | None
    until: dt.date | None
    phrase: str = ""

    def contains(self, iso: str | None) -> bool:
        """Undated articles are never inside a window: their date is unknown, not recent."""
        if not iso:
            return False
        try:
            day = dt.date.fromisoformat(iso[:10])
        except ValueError:
            return False
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until)

    def news_about(self, days_after: int = 31, as_of: dt.date | None = None) -> DateWindow:
        """The publication dates of news about this window: during it, or after it by as long as the window
        lasts, at least 7 and at most `days_after` days (an article of 5 March reports February's inflation; one
        of 8 May the vote of 3 May), never after the as-of date."""
        if self.until is None:
            return self
        length = (self.until - self.since).days + 1 if self.since else days_after
        until = self.until + dt.timedelta(days=min(days_after, max(7, length)))
        if as_of is not None:
            until = max(self.until, min(until, as_of))
        return DateWindow(self.since, until, self.phrase)

    def describe(self) -> str:
        """'between 1 and 7 May 2024', 'on 3 May 2023', 'since 1 March 2023', 'before 5 May 2023'."""
        s, u = self.since, self.until
        if s and u:
            if s == u:
                return f"on {format_day(s)}"
            if s.year == u.year and s.month == u.month:
                return f"between {s.day} and {format_day(u)}"
            if s.year == u.year:
                return f"between {s.day} {calendar.month_name[s.month]} and {format_day(u)}"
            return f"between {format_day(s)} and {format_day(u)}"
        if s:
            return f"since {format_day(s)}"
        if u:
            return f"on or before {format_day(u)}"
        return "at any time"

    def span(self) -> str:
        """The window as a date range to show beside its phrase: '1 January – 31 December 2022', '1–7 May 2024',
        '3 May 2023', 'since 1 March 2023'."""
        s, u = self.since, self.until
        if not (s and u):
            return self.describe()
        if s == u:
            return format_day(s)
        if s.year == u.year and s.month == u.month:
            return f"{s.day}–{format_day(u)}"
        if s.year == u.year:
            return f"{s.day} {calendar.month_name[s.month]} – {format_day(u)}"
        return f"{format_day(s)} – {format_day(u)}"

    def to_dict(self) -> dict[str, str | None]:
        return {"since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
                "phrase": self.phrase, "description": self.span()}


# ----------------------------------------------------------------------------------------- resolution

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
# Month names are matched capitalised only: "may", "march" and "august" are also ordinary words.
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|" \
         r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
_YEAR = r"(?:19|20)\d{2}(?![\ds])"  # not "1990s"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)"
# One explicit date: "May 3, 2023", "3 May 2023", "May 3", "May 2023", "May", "2023-05-03", "5/3/2023", "2023".
_DATE = (rf"(?:{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?|{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?|{_MONTH}(?:,?\s+{_YEAR})?"
         rf"|\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|{_YEAR})")
_WEEKDAYS = [d.lower() for d in calendar.day_name]
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "few": 3, "couple of": 2}
_COUNT = r"(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|few|couple of)"


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word.lower()]


def _month_window(month: int, year: int | None, as_of: dt.date) -> tuple[dt.date, dt.date]:
    if year is None:  # the most recent such month that has begun by the as-of date
        year = as_of.year if month <= as_of.month else as_of.year - 1
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _explicit(text: str, as_of: dt.date) -> tuple[dt.date, dt.date] | None:
    """The span one explicit date phrase names: a day, a month or a year."""
    text = text.strip().rstrip(".,")
    if re.fullmatch(_YEAR, text):
        year = int(text)
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month_only = re.fullmatch(rf"({_MONTH})(?:,?\s+({_YEAR}))?", text)
    if month_only:
        month = _MONTHS[month_only[1].rstrip(".").lower()]
        return _month_window(month, int(month_only[2]) if month_only[2] else None, as_of)
    day = _parse_day(text, as_of)
    return (day, day) if day else None


@lru_cache(maxsize=4096)
def _parse_day(text: str, as_of: dt.date) -> dt.date | None:
    """A single day, by dateparser, relative to the as-of date and preferring the past."""
    import dateparser

    base = dt.datetime.combine(as_of, dt.time(12))
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    parsed = dateparser.parse(cleaned, languages=["en"], settings={
        "RELATIVE_BASE": base, "PREFER_DATES_FROM": "past", "DATE_ORDER": "MDY",
        "PREFER_DAY_OF_MONTH": "first", "REQUIRE_PARTS": ["day", "month"], "RETURN_AS_TIMEZONE_AWARE": False})
    return parsed.date() if parsed else None


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _relative(question: str, as_of: dt.date) -> DateWindow | None:
    """The relative periods, by our own rules (in order: the first that matches wins)."""
    q = question.lower()
    day = dt.timedelta(days=1)

    def found(pattern: str) -> re.Match[str] | None:
        return re.search(rf"\b(?:{pattern})\b", q)

    if m := found(rf"(?:in\s+)?the\s+(?:past|last)\s+{_COUNT}\s+(day|week|month|year)s?|(?:over|in|within|during)\s+"
                  rf"the\s+(?:past|last)\s+{_COUNT}\s+(day|week|month|year)s?"):
        count, unit = (m[1], m[2]) if m[1] else (m[3], m[4])
        return DateWindow(as_of - dt.timedelta(days=_count(count) * _UNIT_DAYS[unit]), as_of, m[0])
    if m := found(rf"{_COUNT}\s+(day|week|month|year)s?\s+ago"):
        days = _count(m[1]) * _UNIT_DAYS[m[2]]
        center = as_of - dt.timedelta(days=days)
        slack = dt.timedelta(days=max(1, _UNIT_DAYS[m[2]] // 2))
        return DateWindow(center - slack, min(as_of, center + slack), m[0])
    if m := found("(?:the\\s+)?past\\s+(month|year)"):
        return DateWindow(as_of - dt.timedelta(days=_UNIT_DAYS[m[1]]), as_of, m[0])
    if m := found("today|tonight|this morning|this afternoon|this evening"):
        return DateWindow(as_of, as_of, m[0])
    if m := found("yesterday|last night"):
        return DateWindow(as_of - day, as_of - day, m[0])
    if m := found("this weekend|last weekend|over the weekend|the weekend"):
        saturday = as_of - dt.timedelta(days=(as_of.weekday() - 5) % 7)
        return DateWindow(saturday, min(as_of, saturday + day), m[0])
    if m := found("this week|past week|the week|this past week|earlier this week|a week|the last week"):
        return DateWindow(as_of - 7 * day, as_of, m[0])
    if m := found("last week|previous week"):
        start = _week_start(as_of) - 7 * day
        return DateWindow(start, start + 6 * day, m[0])
    if m := found("this month|earlier this month"):
        return DateWindow(as_of.replace(day=1), as_of, m[0])
    if m := found("last month|previous month"):
        end = as_of.replace(day=1) - day
        return DateWindow(end.replace(day=1), end, m[0])
    if m := found("this year|earlier this year|so far this year"):
        return DateWindow(as_of.replace(month=1, day=1), as_of, m[0])
    if m := found("last year|previous year"):
        return DateWindow(dt.date(as_of.year - 1, 1, 1), dt.date(as_of.year - 1, 12, 31), m[0])
    if m := found(rf"(?:last|this past)\s+({'|'.join(_WEEKDAYS)})"):
        back = (as_of.weekday() - _WEEKDAYS.index(m[1])) % 7 or 7
        target = as_of - dt.timedelta(days=back)
        return DateWindow(target, target, m[0])
    if m := found("recently|recent|lately|latest|newly|these days|currently|right now"):
        return DateWindow(as_of - 30 * day, as_of, m[0])
    return None


def _absolute(question: str, as_of: dt.date) -> DateWindow | None:
    """Explicit dates with a preposition: between/from … to/and, since, after, before/until, on/in/of."""
    day = dt.timedelta(days=1)
    if m := re.search(rf"\b(?:between|from)\s+({_DATE})\s+(?:and|to|until|through)\s+({_DATE})", question):
        a, b = _explicit(m[1], as_of), _explicit(m[2], as_of)
        if a and b:
            return DateWindow(a[0], b[1], m[0])
    if m := re.search(rf"\b(?:since|after|from)\s+(?:the\s+)?(?:start\s+of\s+|beginning\s+of\s+)?({_DATE})", question):
        span = _explicit(m[1], as_of)
        if span:
            start = span[1] + day if m[0].lower().startswith("after") else span[0]
            return DateWindow(start, as_of, m[0])
    if m := re.search(rf"\b(?:before|until|prior\s+to|by)\s+(?:the\s+)?(?:end\s+of\s+)?({_DATE})", question):
        span = _explicit(m[1], as_of)
        if span:
            end = span[1] if "end" in m[0] or m[0].lower().startswith(("until", "by")) else span[0] - day
            return DateWindow(None, min(end, as_of), m[0])
    if m := re.search(rf"\b(?:in|on|of|during|early|late|mid-?)\s+(?:early\s+|late\s+)?({_DATE})\b", question):
        span = _explicit(m[1], as_of)
        if span:
            return DateWindow(span[0], span[1], m[0])
    return None


def _bare(question: str, as_of: dt.date) -> DateWindow | None:
    """A day named without a preposition ("… the May 3 vote"): weaker than relative words, since such a date
    is often the name of an event ("the January 6, 2021, attack") rather than the time asked about."""
    if m := re.search(rf"(?<![\w-])({_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?|{_DAY}\s+{_MONTH}(?:,?\s+{_YEAR})?)", question):
        span = _explicit(m[1], as_of)
        if span:
            return DateWindow(span[0], span[1], m[0])
    return None


def resolve_window(question: str, as_of: dt.date) -> DateWindow | None:
    """The date window the question's time words name, relative to `as_of`; None if it names no time.

    A date with a preposition wins over relative words ("on May 3 this year" is May 3), which win over a
    bare date ("the January 6, 2021, attack this week" is this week); a window never reaches past the
    as-of date, because nothing published after it can be known then."""
    window = _absolute(question, as_of) or _relative(question, as_of) or _bare(question, as_of)
    if window is None:
        return None
    until = window.until if window.until is None or window.until <= as_of else as_of
    since = window.since
    if since is not None and until is not None and since > until:
        return DateWindow(since, since, window.phrase)  # all in the future of the as-of date: an empty window
    return DateWindow(since, until, window.phrase)


# Words that name no topic: with the time words, all that a question asking for the news of a period says ("What
# happened this week?", "What were the main news stories in the last few days?", "Any news from yesterday?").
_NO_TOPIC_WORDS = frozenset("""what what's whats which were was is are be been being has have had did do does happen
    happened happens happening going go on the a an in of from for about over during at any anything something new
    news story stories headline headlines main top biggest big key major important notable latest recent event events
    there tell me us give show list summary summarise summarize recap roundup round up digest please so far world
    everything all else s""".split())


def time_only(question: str, window: DateWindow | None) -> bool:
    """True when the question asks only for the news of its window: nothing but its time words and words that name
    no topic (_NO_TOPIC_WORDS). Such a question is answered by the window's stories, newest first (docs/time.md),
    not by passages similar to "what happened". A window open at its start ("before May") is never one. A
    capitalised word past the start of a sentence is a name, hence a topic, even one spelled like a no-topic word
    ("What happened in the US this week?", "What did IS do this week?"); month and weekday names are time words
    of the window's phrase or, elsewhere, not no-topic words anyway."""
    if window is None or not window.phrase or window.since is None:
        return False
    rest = re.sub(re.escape(window.phrase), " ", question.replace("\u2019", "'"), count=1, flags=re.IGNORECASE)
    for match in re.finditer(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?", rest):
        word = match.group()
        before = rest[: match.start()]
        named = word[0].isupper() and bool(before.strip()) and not re.search(r"[.!?]\s*$", before)
        if word.lower() not in _NO_TOPIC_WORDS or named:
            return False
    return True
