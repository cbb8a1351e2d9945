"""HTML for the chat and the sources panel. Every piece of article or model text is escaped here: an article
containing <script> or markup is shown as text, never run or rendered."""

from __future__ import annotations

import datetime as dt
import html
import re

from rag.answer.engine import Answer, Citation, as_sentence
from rag.answer.text import headline_end
from rag.stories import outlet
from rag.timewindow import format_day

CITE_RE = re.compile(r"\[(\d+)\]")


def escape(text: str) -> str:
    # Escape markdown's link/image syntax and HTML alike: the chat renders markdown.
    return html.escape(text, quote=True).replace("[", "&#91;").replace("]", "&#93;").replace("`", "&#96;")


# "As of 4 May 2023, …" (dated_answer) and "As of 30 November 2026: on 28 November, …" (a digest).
_DATED_RE = re.compile(r"As of \d{1,2} [A-Z][a-z]+ \d{4}[,:] ")


def answer_html(answer: Answer) -> str:
    """The checked answer: only sentences the citation check accepted (rag/answer/policy.py), each marked with
    the same verdict as its source card; a quotation that stands in for the model's words says so. Sentences
    the check rejected are listed apart, struck through and labelled, never as part of the answer; those left
    out as noise are summed up in one collapsed line after it (_omitted_html)."""
    # A dependency that failed (model server down, …) is said above the answer that stood in for it.
    warning = f'<div class="warn">⚠ {escape(answer.warning)}.</div>' if answer.warning else ""
    rejected = _rejected_html(answer) + _omitted_html(answer)
    if answer.refused:
        # A drawn "no entry" sign, not the 🚫 emoji: without a colour-emoji font (Debian's chromium has none) the
        # emoji is an empty box. The sign needs no font (tests/ui/test_sources_browser.py looks at its pixels).
        return (f'{warning}<div class="refusal"><span class="no-entry" title="refused"></span>'
                f'{escape(answer.answer)}</div>{rejected}')
    # A time-sensitive answer names the date of its evidence (rag/answer/engine.py dated_answer).
    dated = _DATED_RE.match(answer.answer)
    prefix = f'<span class="dated">{escape(dated.group(0))}</span>' if dated else ""
    parts = []
    for i, sentence in enumerate(answer.sentences):
        if sentence.get("origin") == "note":
            # The answerer's own note ("The sources do not say …"): it cites nothing and no check verified it.
            parts.append(f'<span class="sentence note" data-verdict="note">{escape(sentence["text"])}</span>')
            continue
        verdict = "supported" if sentence["supported"] else "unsupported"
        if sentence.get("origin") == "quote":
            # The quotation is the article's sentence as written, its citation after the closing quote mark; a
            # dated answer that opens with one names the date as the source's, in the label ("As of 24 November
            # 2026, quoted from source: …" read as one glued phrase with a date that is not the As-of date).
            label = "quoted from source"
            if i == 0 and dated and dated.group(0).endswith(", "):  # not a digest's "As of …: on 28 November, …"
                label, prefix = f"quoted from the source of {dated.group(0)[len('As of '):-2]}", ""
            links = _links(sentence["citations"], verdict)
            body = (f'<span class="quote-label">{escape(label)}:</span> “{escape(sentence["text"])}”'
                    f'{" " + links if links else ""}')
        else:
            body = _cited(sentence["text"], sentence["citations"], verdict)
        parts.append(f'<span class="sentence {verdict}" data-verdict="{verdict}">{body}</span>')
    return f'{warning}<div class="answer">{prefix}{" ".join(parts)}</div>{rejected}'


def _links(citations: list[int], verdict: str) -> str:
    return "".join(f'<a class="cite {verdict}" href="#cite-{n}" title="source {n}: {verdict}">&#91;{n}&#93;</a>'
                   for n in citations)


def _cited(text: str, citations: list[int], verdict: str) -> str:
    links = _links(citations, verdict)
    # Before the closing punctuation; a digest's story ends with ";" ("on 28 November, … [1];"); after a closing
    # double quote mark that ends the sentence ("… their power.” [1]", as policy.with_markers writes it).
    match = re.search(r"[.!?…;][\"'”’)]*$", text)
    end = match.start() if match and not re.search(r"[.!?…][\"”]$", text) else len(text)
    return f"{escape(text[:end])}{' ' + links if links else ''}{escape(text[end:])}"


def _rejected_html(answer: Answer) -> str:
    if not answer.rejected:
        return ""
    items = "".join(f'<li data-verdict="unsupported"><s>{escape(r["text"])}</s></li>' for r in answer.rejected)
    count = len(answer.rejected)
    what = "1 sentence the model wrote was" if count == 1 else f"{count} sentences the model wrote were"
    return (f'<details class="rejected"><summary>⚠ {what} not supported by the passages and '
            f"{'is' if count == 1 else 'are'} not part of the answer</summary><ul>{items}</ul></details>")


def _omitted_html(answer: Answer) -> str:
    """Verified sentences the answer leaves out because they tell nothing (a restatement of the question, debris,
    those past its first sentences: rag/answer/policy.py ShownFilter, LeadOrder): noise by design, so one small
    collapsed line after the answer says how many and why; the sentences show only when it is opened."""
    if not answer.omitted:
        return ""
    reasons = list(dict.fromkeys(o["reason"] for o in answer.omitted))
    count = len(answer.omitted)
    items = "".join(f'<li>{escape(o["text"])} <span class="why">({escape(o["reason"])})</span></li>'
                    for o in answer.omitted)
    return (f'<details class="omitted"><summary>{count} sentence{"s" if count != 1 else ""} left out: '
            f'{escape("; ".join(reasons))}</summary><ul>{items}</ul></details>')


def streaming_html(partial: str) -> str:
    return f'<div class="answer streaming">{escape(partial)}▌</div>'


def _passage(text: str, spans: list[tuple[int, int]]) -> str:
    """The passage with every span marked (overlapping spans merged)."""
    out, at = [], 0
    for start, end in sorted(spans):
        start = max(start, at)
        if end <= start:
            continue
        out += [escape(text[at:start]), f"<mark>{escape(text[start:end])}</mark>"]
        at = end
    return "".join(out) + escape(text[at:])


def _without_headline(text: str, title: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """A passage that opens with the article's headline (a .txt file's first line, a Markdown '# ' heading) loses
    that line: the card shows the headline already. The spans move with the text."""
    cut = headline_end(text, title)
    if not cut or "\n" not in text:
        return text, spans
    return text[cut:], [(max(a - cut, 0), b - cut) for a, b in spans if b > cut]


def _source_label(url: str | None, source: str) -> str:
    """The outlet an article came from, or nothing when that would only repeat its file name (no URL)."""
    name = outlet(url, source)
    return "" if name == source else name


def _numbers(ns: list[int]) -> str:
    return " ".join(f"&#91;{n}&#93;" for n in ns)


def _card(answer: Answer, group: list[Citation]) -> str:
    """One card per cited article: every number it is cited as, its file name once, each distinct passage once
    with all of its cited sentences marked, and the answer sentences resting on it with their verdicts."""
    c = group[0]
    ns = [g.n for g in group]
    # One verdict per sentence, the same as in the answer: the card lists the answer sentences resting on it.
    claims = [s for s in answer.sentences if set(ns) & set(s["citations"])]
    verdicts = "".join(
        f'<li class="claim {"supported" if s["supported"] else "unsupported"}" '
        f'data-verdict="{"supported" if s["supported"] else "unsupported"}">'
        f'{"✔" if s["supported"] else "✖"} {escape(s["text"])}</li>' for s in claims)
    supported = all(g.supported for g in group)
    badge = ('<span class="badge ok">supported</span>' if supported
             else '<span class="badge no">not supported</span>')
    url = f' · <a href="{html.escape(c.url, quote=True)}" rel="noopener noreferrer" target="_blank">link</a>' \
        if c.url and c.url.startswith(("http://", "https://")) else ""
    passages: dict[str, list[Citation]] = {}
    for g in group:
        passages.setdefault(g.text, []).append(g)
    blocks = []
    for text, cited in passages.items():
        spans = sorted({span for g in cited for span in (g.highlights or ([g.highlight] if g.highlight else []))})
        shown, spans = _without_headline(text, c.title, spans)
        label = f'<span class="passage-n">{_numbers([g.n for g in cited])}</span> ' if len(passages) > 1 else ""
        blocks.append(f'<div class="passage">{label}{_passage(shown, spans)}</div>')
    anchors = "".join(f'<span id="cite-{n}"></span>' for n in ns[1:])
    label = _source_label(c.url, c.source)
    outlet_html = f' · <span class="outlet">{escape(label)}</span>' if label else ""
    # Date and outlet first: in news, when and who published a source is the first thing to judge it by.
    return (f'<div class="source" id="cite-{ns[0]}" data-cites="{" ".join(map(str, ns))}">{anchors}'
            f'<div class="when">{_numbers(ns)} <span class="date">{escape(_long_date(c.date))}</span>{outlet_html} '
            f'{badge}</div><div class="head"><b>{escape(c.title)}</b></div>'
            f'<div class="meta"><code>{escape(c.source)}</code>{url}{_also(answer, c.source)}</div>'
            f'<ul class="claims">{verdicts}</ul>{"".join(blocks)}</div>')


# Refusal reasons are written for the evals' reports and the CLI (rag/answer/gates.py, engine.py): the page says
# what they mean in plain words and keeps the measured numbers in a collapsed "details" line.
_PLAIN_REASONS = (
    (re.compile(r"no passage relevant enough \((?P<details>.*)\)$", re.IGNORECASE),
     "No passage is close enough to the question."),
    (re.compile(r"the passages mention only (?P<share>\d+%) of the question's terms \(< (?P<least>\d+%)\)$",
                re.IGNORECASE),
     "The closest passages mention only {share} of the question's words (at least {least} are needed)."),
    (re.compile(r"the passages look like a near miss \((?P<details>.*)\)$", re.IGNORECASE),
     "The closest passages are about something near the question but do not answer it."),
)
_INTERNAL_TERMS = re.compile(r"cosine|log-odds|[<>]")


def plain_reason(reason: str) -> tuple[str, str]:
    """(A refusal reason as a sentence in plain words, the numbers behind it or "")."""
    reason = " ".join(reason.split()).removesuffix(".")  # Answer makes it a sentence (engine.as_sentence)
    for pattern, plain in _PLAIN_REASONS:
        if match := pattern.match(reason):
            fields = match.groupdict()
            return plain.format(**fields), fields.get("details") or ""
    details = ""
    # A trailing "(...)" of measurements is kept out of the sentence.
    if (match := re.search(r"\s*\(([^()]*)\)$", reason)) and _INTERNAL_TERMS.search(match[1]):
        reason, details = reason[: match.start()], match[1]
    return (as_sentence(reason) if reason else ""), details


def sources_html(answer: Answer | None) -> str:
    if answer is None:
        return '<div class="sources empty">Sources of the answer appear here.</div>'
    if answer.refused:
        seen: dict[str, object] = {}
        for hit in answer.retrieved:
            seen.setdefault(hit.chunk.source, hit)
        items = "".join(
            f"<li>{escape(_long_date(h.chunk.date))} · "
            + (f"{escape(label)} · " if (label := _source_label(h.chunk.url, h.chunk.source)) else "")
            + f"{escape(h.chunk.title)} · <code>{escape(h.chunk.source)}</code></li>"
            for h in list(seen.values())[:3]  # type: ignore[attr-defined]
        )
        reason, details = plain_reason(answer.refusal_reason or "")
        why = f'<details class="why"><summary>details</summary>{escape(details)}</details>' if details else ""
        rejected = "".join(f'<li data-verdict="unsupported">✖ <s>{escape(r["text"])}</s></li>' for r in answer.rejected)
        rejected = f"<p>Rejected by the citation check:</p><ul>{rejected}</ul>" if rejected else ""
        return (f'<div class="sources refused"><b>Not found in the corpus.</b> <small>{escape(reason)}</small>{why}'
                f"<p>Closest sources:</p><ul>{items}</ul>{rejected}</div>")
    by_source: dict[str, list[Citation]] = {}
    for c in answer.citations:
        by_source.setdefault(c.source, []).append(c)
    cards = [_card(answer, group) for group in by_source.values()]
    rejected = "".join(f'<li data-verdict="unsupported">✖ <s>{escape(r["text"])}</s></li>' for r in answer.rejected)
    if rejected:
        rejected = (f'<div class="rejected-claims"><b>Not supported by the cited passages (not part of the answer):'
                    f"</b><ul>{rejected}</ul></div>")
    return '<div class="sources">' + "".join(cards) + rejected + "</div>"


def _long_date(iso: str | None) -> str:
    if not iso:
        return "no date"
    try:
        return format_day(dt.date.fromisoformat(iso[:10]))
    except ValueError:
        return iso


def _also(answer: Answer, source: str) -> str:
    """The other copies of a cited story ("also in …"), from the retrieved hit that carries it."""
    hit = next((h for h in answer.retrieved if h.chunk.source == source), None)
    if hit is None or not hit.also:
        return ""
    copies = ", ".join(f"{escape(outlet(c.get('url'), c['source']))} ({escape(c.get('date') or 'no date')})"
                       for c in hit.also)
    return f'<div class="also">also in {copies}</div>'


def timeline_html(answer: Answer | None) -> str:
    """The retrieved stories in publication order (undated ones last), each linked to its source card when the
    answer cites it, else to the article; the question's date window, when it has one, is named on top."""
    if answer is None or not answer.retrieved:
        return '<div class="timeline empty">A timeline of the retrieved stories appears here.</div>'
    cited: dict[str, int] = {}
    for c in answer.citations:
        cited.setdefault(c.source, c.n)
    stories: dict[str, object] = {}
    for hit in answer.retrieved:
        stories.setdefault(hit.story or hit.chunk.source, hit)
    hits = sorted(stories.values(), key=lambda h: (h.chunk.date is None, h.chunk.date or "", h.chunk.source))  # type: ignore[attr-defined]
    items = []
    for hit in hits:
        chunk = hit.chunk  # type: ignore[attr-defined]
        if chunk.source in cited:
            n = cited[chunk.source]
            target = f'<a class="tl-link" href="#cite-{n}">&#91;{n}&#93; {escape(chunk.title)}</a>'
        elif chunk.url and chunk.url.startswith(("http://", "https://")):
            target = (f'<a class="tl-link" href="{html.escape(chunk.url, quote=True)}" rel="noopener noreferrer" '
                      f'target="_blank">{escape(chunk.title)}</a>')
        else:
            target = f'<span class="tl-link">{escape(chunk.title)}</span>'
        inside = " in-window" if hit.in_window else ""  # type: ignore[attr-defined]
        copies = len(hit.also)  # type: ignore[attr-defined]
        more = f' <span class="tl-copies">+{copies} {"copy" if copies == 1 else "copies"}</span>' if copies else ""
        items.append(f'<li class="tl-item{inside}" data-date="{escape(chunk.date or "")}">'
                     f'<span class="tl-date">{escape(_long_date(chunk.date))}</span> {target}{more}</li>')
    window = answer.window
    head = f"As of {escape(_long_date(answer.as_of))}"
    if window:
        head += f" · “{escape(window['phrase'])}” = {escape(window['description'])}"
    return f'<div class="timeline"><div class="tl-head">{head}</div><ol>{"".join(items)}</ol></div>'


def retrieved_html(answer: Answer | None) -> str:
    if answer is None or not answer.retrieved:
        return "<div class='retrieved empty'>No passages retrieved yet.</div>"
    rows = []
    for h in answer.retrieved:
        dense = "-" if h.dense_score is None else f"{h.dense_score:.2f}"
        rows.append(
            f"<div class='hit'><b>#{h.rank}</b> {escape(h.chunk.title)} · <code>{escape(h.chunk.source)}</code> · "
            f"fused {h.score:.4f} · cosine {dense} · dense #{h.dense_rank or '-'} · bm25 #{h.bm25_rank or '-'}"
            f"<div class='passage'>{escape(h.chunk.text)}</div></div>"
        )
    return "<div class='retrieved'>" + "".join(rows) + "</div>"


CSS = """
.answer { white-space: pre-wrap; }
.refusal { color: #9a3412; font-weight: 600; }
.no-entry { display: inline-block; position: relative; box-sizing: border-box; width: 0.95em; height: 0.95em;
            margin-right: 0.35em; vertical-align: -0.12em; border: 0.14em solid currentColor; border-radius: 50%; }
.no-entry::after { content: ""; position: absolute; left: 50%; top: 50%; width: 100%; height: 0.14em;
                   background: currentColor; transform: translate(-50%, -50%) rotate(-45deg); }
a.cite { text-decoration: none; font-weight: 600; color: #1d4ed8; }
a.cite.unsupported { color: #b91c1c; }
.quote-label { color: #6b7280; font-size: 0.85em; font-style: italic; }
.sentence.note { color: #6b7280; font-style: italic; }
details.rejected, .rejected-claims { color: #991b1b; font-size: 0.85em; margin-top: 6px; }
details.omitted { color: #6b7280; font-size: 0.8em; margin-top: 4px; }
ul.claims { margin: 2px 0 6px; padding-left: 18px; font-size: 0.85em; }
li.claim.supported { color: #166534; }
li.claim.unsupported { color: #991b1b; }
.warn { color: #b45309; font-size: 0.9em; margin-top: 4px; }
.source { border: 1px solid #d1d5db; border-radius: 8px; padding: 8px 10px; margin-bottom: 8px; }
.source .meta { color: #6b7280; font-size: 0.85em; margin: 2px 0 6px; }
.source .passage, .hit .passage { font-size: 0.9em; white-space: pre-wrap; }
.source mark { background: #fef08a; }
.source .passage + .passage { margin-top: 6px; border-top: 1px dashed #e5e7eb; padding-top: 4px; }
.source .passage-n { color: #6b7280; font-size: 0.85em; }
.badge { font-size: 0.75em; padding: 1px 6px; border-radius: 9px; margin-left: 6px; }
.badge.ok { background: #dcfce7; color: #166534; }
.badge.no { background: #fee2e2; color: #991b1b; }
.sources.refused { color: #9a3412; }
.sources.refused details.why { font-size: 0.8em; color: #6b7280; }
.hit { border-bottom: 1px solid #e5e7eb; padding: 6px 0; font-size: 0.9em; }
.source .when { font-size: 0.9em; color: #374151; }
.source .when .date { font-weight: 600; }
.source .also { font-size: 0.85em; color: #6b7280; }
.timeline ol { list-style: none; padding-left: 0; margin: 4px 0; border-left: 2px solid #d1d5db; }
.timeline .tl-item { padding: 2px 0 2px 10px; font-size: 0.9em; }
.timeline .tl-item.in-window { border-left: 3px solid #2563eb; margin-left: -2px; }
.timeline .tl-date { color: #6b7280; display: inline-block; min-width: 7.5em; }
.timeline .tl-head { font-size: 0.85em; color: #374151; }
.timeline .tl-copies { font-size: 0.8em; color: #6b7280; }
"""
