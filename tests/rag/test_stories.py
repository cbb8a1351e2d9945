"""Story grouping (rag/stories.py): which documents are copies or versions of one story."""

from __future__ import annotations

from rag.stories import group_stories, signature, title_dates
from tests.helpers import WIRE

# A site template that dominates the extracted text of short pages: consent notice, newsletter box, footer.
TEMPLATE = " ".join(
    f"We and our {i} partners store and access information on your device to show personalised ads, measure "
    f"content and improve our services; sign up to our daily newsletter for the best of the week's news {i}."
    for i in range(12))


def test_syndicated_copies_and_an_update_are_one_story_and_other_news_is_not() -> None:
    texts = {
        "ap.md": WIRE,
        "yahoo.md": "By Yahoo staff. " + WIRE + " Read more on Yahoo News.",
        "update.md": WIRE.replace("after the union members vote on the deal this weekend",
                                  "after union members approved the deal on Sunday") + " Trains left the port on Monday.",
        "other.md": "The harbour chess open was won by a teenager from Varnholm who beat three grandmasters in the "
                    "final rounds, the organisers said, and the prize money will fund a school chess club.",
    }
    titles = {"ap.md": "Kessel miners win six percent raise, ending strike | AP",
              "yahoo.md": "Kessel miners win six percent raise, ending strike - Yahoo News",
              "update.md": "Kessel miners approve six percent raise deal, ending strike | AP",
              "other.md": "Teenager wins harbour chess open"}
    story = group_stories({s: signature(t) for s, t in texts.items()}, 0.5, titles)
    assert story["ap.md"] == story["yahoo.md"] == story["update.md"] == "ap.md"
    assert story["other.md"] == "other.md"


def test_weekly_editions_of_a_series_page_are_not_one_story() -> None:
    # Two weeks' quiz pages: the same template, a few different lines, headlines naming different days. They
    # looked like copies (text and headline words agree) and the newer one hid the older one from search.
    texts = {"quiz-aug-11.md": TEMPLATE + " Which country won the women's football world cup semi-final?",
             "quiz-aug-18.md": TEMPLATE + " Which singer announced a farewell tour this week?"}
    titles = {"quiz-aug-11.md": "Quiz of The Week: 5 - 11 August | The Week UK",
              "quiz-aug-18.md": "Quiz of The Week: 12 - 18 August | The Week UK"}
    signatures = {s: signature(t) for s, t in texts.items()}
    assert group_stories(signatures, 0.5)["quiz-aug-18.md"] == "quiz-aug-11.md", "the text alone says copies"
    story = group_stories(signatures, 0.5, titles)
    assert story == {"quiz-aug-11.md": "quiz-aug-11.md", "quiz-aug-18.md": "quiz-aug-18.md"}


def test_a_version_whose_headline_number_changed_is_still_the_same_story() -> None:
    first = WIRE + " Four people were hurt in clashes at the gates."
    texts = {"v1.md": first, "v2.md": first.replace("Four people", "Six people")}
    titles = {"v1.md": "Kessel strike ends; 4 hurt in clashes on May 9", "v2.md": "Kessel strike ends; 6 hurt on May 9"}
    story = group_stories({s: signature(t) for s, t in texts.items()}, 0.5, titles)
    assert story["v2.md"] == "v1.md"


def test_days_named_in_headlines() -> None:
    assert title_dates("Quiz of The Week: 12 - 18 August | The Week UK") == {"12 aug", "18 aug"}
    assert title_dates("Quiz of The Week: 31 December – 6 January") == {"31 dec", "6 jan"}
    assert title_dates("Storm hits on May 3rd; Oct. 7 anniversary") == {"3 may", "7 oct"}
    assert title_dates("March 2023 inflation falls to 5%") == set()
    assert title_dates("Shohei Ohtani to Dodgers on record 10-year, $700 m deal") == set()
