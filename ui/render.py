"""HTML for the chat and the sources panel. Every piece of article or model text is escaped here: an article
containing <script> or markup is shown as text, never run or rendered."""

from __future__ import annotations

import html
import re

from rag.answer.engine import Answer

CITE_RE = re.compile(r"\[(\d+)\]")


def escape(text: str) -> str:
    # Escape markdown's link/image syntax and HTML alike: the chat renders markdown.
    return html.escape(text, quote=True).replace("[", "&#91;").replace("]", "&#93;").replace("`", "&#96;")


def answer_html(answer: Answer) -> str:
    # A dependency that failed (model server down, …) is said above the answer that stood in for it.
    warning = f'<div class="warn">⚠ {escape(answer.warning)}.</div>' if answer.warning else ""
    if answer.refused:
        return f'{warning}<div class="refusal">🚫 {escape(answer.answer)}</div>'
    supported = {c.n: c.supported for c in answer.citations}
    body = html.escape(answer.answer, quote=True).replace("`", "&#96;")

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        cls = "cite" if supported.get(n, False) else "cite unsupported"
        return f'<a class="{cls}" href="#cite-{n}" title="source {n}">&#91;{n}&#93;</a>'

    body = CITE_RE.sub(link, body).replace("[", "&#91;").replace("]", "&#93;")
    note = ""
    unsupported = sum(1 for s in answer.sentences if not s["supported"])
    if unsupported:
        note = f'<div class="warn">⚠ {unsupported} sentence(s) not supported by the cited passages.</div>'
    return f'{warning}<div class="answer">{body}</div>{note}'


def streaming_html(partial: str) -> str:
    return f'<div class="answer streaming">{escape(partial)}▌</div>'


def _passage(text: str, highlight: tuple[int, int] | None) -> str:
    if not highlight:
        return escape(text)
    start, end = highlight
    return f"{escape(text[:start])}<mark>{escape(text[start:end])}</mark>{escape(text[end:])}"


def sources_html(answer: Answer | None) -> str:
    if answer is None:
        return '<div class="sources empty">Sources of the answer appear here.</div>'
    if answer.refused:
        seen: dict[str, object] = {}
        for hit in answer.retrieved:
            seen.setdefault(hit.chunk.source, hit)
        items = "".join(
            f"<li>{escape(h.chunk.title)} · {escape(h.chunk.date or 'no date')} · <code>{escape(h.chunk.source)}</code></li>"
            for h in list(seen.values())[:3]  # type: ignore[attr-defined]
        )
        reason = escape(answer.refusal_reason or "")
        return (f'<div class="sources refused"><b>Not found in the corpus.</b> <small>{reason}</small>'
                f"<p>Closest sources:</p><ul>{items}</ul></div>")
    cards = []
    for c in answer.citations:
        badge = ('<span class="badge ok">supported</span>' if c.supported
                 else '<span class="badge no">not supported</span>')
        url = f' · <a href="{html.escape(c.url, quote=True)}" rel="noopener noreferrer" target="_blank">link</a>' \
            if c.url and c.url.startswith(("http://", "https://")) else ""
        cards.append(
            f'<div class="source" id="cite-{c.n}"><div class="head"><b>&#91;{c.n}&#93; {escape(c.title)}</b> {badge}</div>'
            f'<div class="meta">{escape(c.date or "no date")} · <code>{escape(c.source)}</code>{url}</div>'
            f'<div class="passage">{_passage(c.text, c.highlight)}</div></div>'
        )
    return '<div class="sources">' + "".join(cards) + "</div>"


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
a.cite { text-decoration: none; font-weight: 600; color: #1d4ed8; }
a.cite.unsupported { color: #b91c1c; }
.warn { color: #b45309; font-size: 0.9em; margin-top: 4px; }
.source { border: 1px solid #d1d5db; border-radius: 8px; padding: 8px 10px; margin-bottom: 8px; }
.source .meta { color: #6b7280; font-size: 0.85em; margin: 2px 0 6px; }
.source .passage, .hit .passage { font-size: 0.9em; white-space: pre-wrap; }
.source mark { background: #fef08a; }
.badge { font-size: 0.75em; padding: 1px 6px; border-radius: 9px; margin-left: 6px; }
.badge.ok { background: #dcfce7; color: #166534; }
.badge.no { background: #fee2e2; color: #991b1b; }
.sources.refused { color: #9a3412; }
.hit { border-bottom: 1px solid #e5e7eb; padding: 6px 0; font-size: 0.9em; }
"""
