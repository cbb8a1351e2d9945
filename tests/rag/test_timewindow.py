"""Time expressions resolved against an as-of date: the table of what each phrase means."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.timewindow import AsOfError, DateWindow, parse_as_of, resolve_window, time_only

AS_OF = dt.date(2023, 5, 11)  # a Thursday


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


TABLE = [
    ("What happened today?", "2023-05-11", "2023-05-11"),
    ("What did the senate vote on tonight?", "2023-05-11", "2023-05-11"),
    ("Who resigned yesterday?", "2023-05-10", "2023-05-10"),
    ("What happened last night in Paris?", "2023-05-10", "2023-05-10"),
    ("Which team won this week?", "2023-05-04", "2023-05-11"),
    ("What did the Fed decide this past week?", "2023-05-04", "2023-05-11"),
    ("What was announced earlier this week?", "2023-05-04", "2023-05-11"),
    ("Who was hospitalized during the week?", "2023-05-04", "2023-05-11"),
    ("Who won last week?", "2023-05-01", "2023-05-07"),
    ("Which bank failed the previous week?", "2023-05-01", "2023-05-07"),
    ("Who has recently been named CEO?", "2023-04-11", "2023-05-11"),
    ("What is the latest on the strike?", "2023-04-11", "2023-05-11"),
    ("Who has lately criticised the plan?", "2023-04-11", "2023-05-11"),
    ("What happened this month?", "2023-05-01", "2023-05-11"),
    ("Which company went bankrupt last month?", "2023-04-01", "2023-04-30"),
    ("How many jobs were added this year?", "2023-01-01", "2023-05-11"),
    ("Who won the title last year?", "2022-01-01", "2022-12-31"),
    ("What happened in May?", "2023-05-01", "2023-05-11"),
    ("What happened in June?", "2022-06-01", "2022-06-30"),
    ("What was decided in December?", "2022-12-01", "2022-12-31"),
    ("What happened in March 2021?", "2021-03-01", "2021-03-31"),
    ("Who won the World Cup in 2022?", "2022-01-01", "2022-12-31"),
    ("What happened in 2019?", "2019-01-01", "2019-12-31"),
    ("What happened on May 3?", "2023-05-03", "2023-05-03"),
    ("What happened on May 3rd?", "2023-05-03", "2023-05-03"),
    ("What happened on 3 May 2022?", "2022-05-03", "2022-05-03"),
    ("What was said on March 14, 2023?", "2023-03-14", "2023-03-14"),
    ("Who spoke on 2023-04-20?", "2023-04-20", "2023-04-20"),
    ("What happened on June 5?", "2022-06-05", "2022-06-05"),
    ("What has changed since March?", "2023-03-01", "2023-05-11"),
    ("What has happened since March 2022?", "2022-03-01", "2023-05-11"),
    ("What happened since April 20?", "2023-04-20", "2023-05-11"),
    ("What happened since 2021?", "2021-01-01", "2023-05-11"),
    ("What happened after April 20?", "2023-04-21", "2023-05-11"),
    ("What happened before May 1?", None, "2023-04-30"),
    ("What happened before 2020?", None, "2019-12-31"),
    ("What was agreed by the end of April?", None, "2023-04-30"),
    ("What happened between March 1 and March 15?", "2023-03-01", "2023-03-15"),
    ("What happened between January and March?", "2023-01-01", "2023-03-31"),
    ("What happened from 1 April 2023 to 10 April 2023?", "2023-04-01", "2023-04-10"),
    ("What happened in the past 3 days?", "2023-05-08", "2023-05-11"),
    ("What happened over the last two weeks?", "2023-04-27", "2023-05-11"),
    ("What happened in the past month?", "2023-04-11", "2023-05-11"),
    ("What happened two weeks ago?", "2023-04-24", "2023-04-30"),
    ("What happened 3 days ago?", "2023-05-07", "2023-05-09"),
    ("What happened last Monday?", "2023-05-08", "2023-05-08"),
    ("What happened last Thursday?", "2023-05-04", "2023-05-04"),
    ("What happened this weekend?", "2023-05-06", "2023-05-07"),
    ("What happened in early March?", "2023-03-01", "2023-03-31"),
    ("What happened during April 2023?", "2023-04-01", "2023-04-30"),
]


@pytest.mark.parametrize(("question", "since", "until"), TABLE)
def test_time_expression_table(question: str, since: str | None, until: str) -> None:
    window = resolve_window(question, AS_OF)
    assert window is not None, question
    assert (window.since, window.until) == (d(since) if since else None, d(until)), (question, window)


def test_the_table_has_at_least_forty_expressions() -> None:
    assert len(TABLE) >= 40


@pytest.mark.parametrize("question", [
    "Who is the president of France?",
    "Which team does Damar Hamlin play for?",
    "It may rain, so will the march go ahead?",  # modal "may" and the verb "march" are not months
    "How many centuries had passed since a pope resigned?",
    "What did the Fed say about rates in its statement?",
])
def test_questions_without_time_words_have_no_window(question: str) -> None:
    assert resolve_window(question, AS_OF) is None


def test_a_window_never_reaches_past_the_as_of_date() -> None:
    window = resolve_window("What happened this year?", AS_OF)
    assert window is not None and window.until == AS_OF


def test_as_of_formats_and_errors() -> None:
    assert parse_as_of("2023-05-11") == AS_OF
    assert parse_as_of("2023/05/11") == AS_OF
    assert parse_as_of(" 2023/5/1 ") == dt.date(2023, 5, 1)
    assert parse_as_of(None) == dt.date.today()
    for bad in ("2023-13-01", "11 May 2023", "yesterday", "2023-02-30"):
        with pytest.raises(AsOfError, match="as-of date must be a date like"):
            parse_as_of(bad)


def test_window_description_and_membership() -> None:
    window = DateWindow(d("2024-05-01"), d("2024-05-07"))
    assert window.describe() == "between 1 and 7 May 2024"
    assert DateWindow(d("2023-04-28"), d("2023-05-03")).describe() == "between 28 April and 3 May 2023"
    assert DateWindow(d("2023-05-03"), d("2023-05-03")).describe() == "on 3 May 2023"
    assert window.contains("2024-05-01") and window.contains("2024-05-07")
    assert not window.contains("2024-05-08") and not window.contains(None)


def test_the_window_shown_for_a_year_is_that_year() -> None:
    # The window is the calendar year; the days searched after it for news about it (news_about) are not the
    # window and are not what the page shows for it.
    window = resolve_window("Who won the World Cup in 2022?", dt.date(2026, 11, 30))
    assert window is not None and (window.since, window.until) == (d("2022-01-01"), d("2022-12-31"))
    assert window.span() == "1 January – 31 December 2022"
    assert window.to_dict()["description"] == "1 January – 31 December 2022"
    assert DateWindow(d("2024-05-01"), d("2024-05-07")).span() == "1–7 May 2024"
    assert DateWindow(d("2022-12-20"), d("2023-01-05")).span() == "20 December 2022 – 5 January 2023"
    assert DateWindow(d("2023-05-03"), d("2023-05-03")).span() == "3 May 2023"
    assert DateWindow(d("2023-03-01"), None).span() == "since 1 March 2023"


def test_relative_words_win_over_a_date_that_names_an_event() -> None:
    window = resolve_window("Which network aired false depictions of the January 6, 2021, attack this week?", AS_OF)
    assert window is not None and (window.since, window.until) == (d("2023-05-04"), AS_OF)
    assert resolve_window("Which 1990s movie premiered as a series?", AS_OF) is None


@pytest.mark.parametrize(("question", "only"), [
    ("What happened this week?", True),
    ("What's new this week?", True),
    ("What's on this week?", True),
    ("Give us the news from this week", True),  # lower-case "us" names no topic
    ("What were the main news stories in the last few days?", True),
    ("Any news from yesterday?", True),
    ("What’s in today's news?", True),
    ("Tell me the top headlines from last week", True),
    ("What happened on May 3?", True),
    ("Who won this week?", False),
    ("What happened in Gaza this week?", False),
    ("What happened in the US this week?", False),  # a capitalised word is a name, even one spelled like "us"
    ("What's happening in the US today?", False),
    ("What did IS do this week?", False),
    ("What happened to the bridge this week?", False),
    ("What happened before May 1?", False),  # open at its start: the whole archive, not a period's news
    ("What happened?", False),  # no window
])
def test_a_time_only_question_names_nothing_but_its_period(question: str, only: bool) -> None:
    assert time_only(question, resolve_window(question, AS_OF)) is only
