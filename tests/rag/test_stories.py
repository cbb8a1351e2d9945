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


def reference_groups(signatures: dict[str, str | None], threshold: float, titles: dict[str, str]) -> dict[str, str]:
    """group_stories as it was before StoryIndex: every pair from one LSH built over the final documents."""
    import numpy as np
    from datasketch import MinHash, MinHashLSH

    from rag.stories import NUM_PERM, dates_agree, title_terms, title_weights, titles_agree

    terms = {s: title_terms(t) for s, t in titles.items() if s in signatures}
    days = {s: title_dates(t) for s, t in titles.items() if s in signatures}
    weight = title_weights(terms)
    parent = {s: s for s in signatures}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    values = {s: np.frombuffer(__import__("base64").b64decode(sig), dtype="<u4").astype(np.uint32)
              for s, sig in sorted(signatures.items()) if sig}
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    hashes = {s: MinHash(num_perm=NUM_PERM, seed=1, hashvalues=v, scheme="affine32") for s, v in values.items()}
    for s, h in hashes.items():
        lsh.insert(s, h)
    for s, h in hashes.items():
        for o in lsh.query(h):
            if (o != s and float(np.mean(values[s] == values[o])) >= threshold
                    and titles_agree(terms.get(s, set()), terms.get(o, set()), weight)
                    and dates_agree(days.get(s, set()), days.get(o, set()))):
                a, b = find(s), find(o)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return {s: find(s) for s in sorted(signatures)}


def test_story_index_updated_document_by_document_equals_grouping_from_scratch() -> None:
    """The retriever's catalog keeps a StoryIndex and feeds it only the documents each sync changed: after any
    sequence of adds, changes and removals its groups must be those of the final set grouped from scratch."""
    import random

    from rag.stories import StoryIndex

    rng = random.Random(13)
    words = [f"w{i}" for i in range(400)]
    bases = [" ".join(rng.choice(words) for _ in range(120)) for _ in range(12)]
    heads = [f"Story {i} about {rng.choice(words)} and {rng.choice(words)}" for i in range(12)]

    def document(i: int) -> tuple[str, str]:  # copies of a base story with a few words changed, or no copy at all
        base = rng.randrange(12)
        text = bases[base].split()
        for _ in range(rng.choice([1, 3, 60])):
            text[rng.randrange(len(text))] = rng.choice(words)
        title = heads[base] if rng.random() < 0.8 else f"Quiz of the week: {rng.randint(1, 28)} - 30 August"
        return signature(" ".join(text)), title

    index = StoryIndex(0.5)
    present: dict[str, tuple[str | None, str]] = {}
    for step in range(30):
        upserted = {f"d{rng.randrange(60):02d}.md": document(step) for _ in range(rng.randint(2, 8))}
        if rng.random() < 0.2:
            upserted[f"nosig{step}.md"] = (None, "No signature")
        removed = [s for s in present if rng.random() < 0.04 and s not in upserted]
        index.update(upserted, removed)
        for source in removed:
            del present[source]
        present.update(upserted)
        expected = reference_groups({s: sig for s, (sig, _) in present.items()}, 0.5,
                                    {s: t for s, (_, t) in present.items()})
        assert index.groups() == expected, f"step {step}"
    assert sum(1 for s, g in index.groups().items() if s != g) >= 5  # the grouping is really exercised
