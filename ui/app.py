"""The web chat: `rag serve` or `make run`, then http://127.0.0.1:7860.

The app holds no logic of its own: it calls the same library functions as the CLI (sync_corpus, AnswerEngine,
save_upload, delete_document) and renders their results.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer.engine import Answer, AnswerEngine
from rag.answer.factory import make_answerer, make_engine
from rag.answer.generate import ExtractiveAnswerer
from rag.audit import AuditLog
from rag.auth import AccessPolicy, LoginThrottle
from rag.conversations import ConversationStore
from rag.corpus import delete_document, list_documents, save_upload
from rag.embedding import embedder_for
from rag.errors import BackendUnavailable, FilterError, RagError
from rag.loaders import in_corpus_scan, relative_source
from rag.retrieve import as_of_date, date_range
from rag.settings import SUPPORTED_EXTENSIONS, Settings
from rag.storage import disk_full, write_error_line
from rag.sync import SyncProgress, sync_corpus
from rag.types import SearchFilters, SyncReport
from rag.ui.accounts import accounts_tab, user_bar, who_line
from rag.ui.auth import install_session_expiry, launch_options, require
from rag.ui.conversations import NEW_CONVERSATION, conversation_panel, save_turn
from rag.ui.render import CSS, answer_html, escape, retrieved_html, sources_html, streaming_html, timeline_html
from rag.users import Role
from rag.watch import CorpusWatcher

log = logging.getLogger(__name__)

STREAM_INTERVAL_S = 0.1  # at most ten streamed chat updates a second; the first token is shown at once


class GradioProgress(SyncProgress):
    def __init__(self, progress: gr.Progress) -> None:
        self.progress = progress
        self.total = 0
        self.done = 0

    def embedding_started(self, total: int) -> None:
        self.total, self.done = total, 0
        if total:
            self.progress(0, desc=f"embedding {total} chunks")

    def embedded(self, count: int) -> None:
        self.done += count
        self.progress(self.done / max(self.total, 1), desc=f"embedded {self.done}/{self.total} chunks")


class ChatService:
    """What one running app shares between sessions: models, index, watcher."""

    def __init__(self, settings: Settings, engine: AnswerEngine | None = None,
                 policy: AccessPolicy | None = None) -> None:
        self.settings = settings
        self.policy = policy or AccessPolicy(settings)
        self.conversations = ConversationStore(settings.index_dir)
        self.audit = AuditLog(settings.index_dir)
        self.embedder = embedder_for(settings)
        self.notice = ""
        if engine is None:
            try:
                answerer = make_answerer(settings, self.embedder)
            except BackendUnavailable as exc:
                # Keep serving: extractive answers beat no answers; the banner says what happened.
                self.notice = f"⚠ {exc}. Using the extractive backend instead."
                log.warning(self.notice)
                answerer = ExtractiveAnswerer(self.embedder)
            engine = make_engine(settings, embedder=self.embedder, answerer=answerer)
        self.engine = engine
        self.watcher: CorpusWatcher | None = None
        self._sync_lock = threading.Lock()
        # Files in the corpus folder that the syncs could not index (source -> reason): the Corpus tab lists them,
        # so a file dropped there by hand that the ingest skips is seen once, not in every later upload's status.
        self._skipped: dict[str, str] = {}

    def sync(self, progress: SyncProgress | None = None, paths: list[Path] | None = None) -> SyncReport:
        """The whole corpus folder, or only `paths` (files and folders that changed: the watcher's events)."""
        with self._sync_lock:
            report = sync_corpus(self.settings, embedder=self.embedder, progress=progress, paths=paths)
            self._note_skipped(report, paths)
            return report

    def _note_skipped(self, report: SyncReport, paths: list[Path] | None) -> None:
        if paths is None:
            self._skipped = {}
        else:  # a partial sync speaks only for the files under its paths
            scope = [relative_source(p, self.settings.corpus_dir) for p in paths
                     if in_corpus_scan(p, self.settings.corpus_dir)]
            self._skipped = {s: r for s, r in self._skipped.items()
                             if not any(s == p or s.startswith(f"{p}/") for p in scope)}
        self._skipped.update({f["source"]: f["reason"] for f in report.skipped_files})

    def skipped(self) -> dict[str, str]:
        """The corpus files the syncs skipped (source -> reason), those still there."""
        root = self.settings.corpus_dir
        return {s: r for s, r in dict(self._skipped).items() if os.path.lexists(root / s)}

    def start_watcher(self) -> None:
        self.watcher = CorpusWatcher(self.settings, lambda paths: self.sync(paths=paths))
        self.watcher.start()

    def header(self) -> str:
        docs = list_documents(self.settings)
        chunks = sum(int(d["chunks"]) for d in docs)
        where = self.settings.chroma_url or str(self.settings.index_dir)
        return (f"**newsrag** — answers from `{escape(str(self.settings.corpus_dir))}` "
                f"({len(docs)} documents, {chunks} chunks; index {escape(where)})  \n"
                f"Backend: **{escape(self.engine.answerer.backend)}** · model: {escape(self.engine.answerer.model)}"
                + (f"  \n{escape(self.notice)}" if self.notice else ""))


def log_failure(exc: Exception) -> None:
    """A RagError (a dependency down, a bad filter) is expected: one line. Anything else is a bug: its traceback."""
    if isinstance(exc, RagError):
        log.warning("answer failed: %s", exc)
    else:
        log.exception("answer failed")


def _filters(source: str | None, since: str | None, until: str | None, as_of: str | None = None) -> SearchFilters:
    return SearchFilters(source_glob=(source or "").strip() or None, since=(since or "").strip() or None,
                         until=(until or "").strip() or None, as_of=(as_of or "").strip() or None)


def check_filters(filters: SearchFilters) -> None:
    """A FilterError for dates the search cannot use, naming the page's own fields (not the CLI's flags)."""
    date_range(filters, ("Since", "Until"))
    as_of_date(filters, "As of")


def as_of_control() -> gr.Textbox:
    """The date the chat asks as of (default today): later articles are never used, and "this week" means the
    7 days before it. Empty means today."""
    return gr.Textbox(value=dt.date.today().isoformat(), label="As of (YYYY-MM-DD)", elem_id="as-of",
                      max_lines=1, scale=1, min_width=140)


def undated_line(docs: list[list[Any]]) -> str:
    """The corpus tab's count of documents without a publication date."""
    undated = sum(1 for row in docs if not row[2])
    return f"{len(docs)} documents, {undated} without a publication date"


def skipped_html(skipped: dict[str, str], sync_error: str = "") -> str:
    """The Corpus tab's list of files that are in the corpus folder but not indexed, each with its reason."""
    lines = [f"⚠ last automatic sync failed: {escape(sync_error)}"] if sync_error else []
    if skipped:
        lines.append(f"**Not indexed** ({len(skipped)} file{'s' if len(skipped) != 1 else ''} in the corpus folder "
                     "that the ingest skips: fix or delete them)")
        lines += [f"- ✖ {escape(source)}: {escape(reason)}" for source, reason in sorted(skipped.items())]
    return "\n".join(lines)


def build_app(service: ChatService) -> gr.Blocks:
    settings = service.settings
    policy = service.policy

    def respond(message: str, chat: list[dict[str, str]], history: list[dict[str, str]], k: float, source: str,
                since: str, until: str, as_of: str, conversation: dict[str, Any] | None,
                request: gr.Request):  # noqa: ANN202  (a generator of Gradio updates)
        who = require(policy, request, Role.reader)
        conversation = conversation or dict(NEW_CONVERSATION)
        message = (message or "").strip()
        if not message:
            yield chat, history, gr.update(), gr.update(), "", conversation, gr.update()
            return
        try:
            filters = _filters(source, since, until, as_of)
            check_filters(filters)
        except FilterError as exc:
            chat = [*chat, {"role": "user", "content": escape(message)},
                    {"role": "assistant", "content": f'<div class="refusal">⚠ {escape(str(exc))}</div>'}]
            conversation = {**conversation, "positions": [*conversation.get("positions", []), None]}
            yield chat, history, gr.update(), gr.update(), message, conversation, gr.update()
            return
        chat = [*chat, {"role": "user", "content": escape(message)}, {"role": "assistant", "content": ""}]
        answer: Answer | None = None
        partial = ""
        shown = 0.0
        try:
            for event in service.engine.stream(message, history=history, k=int(k), filters=filters):
                if isinstance(event, Answer):
                    answer = event
                else:
                    partial += event
                    # Every update resends the chat through the queue: one per token cost a fifth of the server CPU
                    # of an extractive answer and doubled /chat latency with 20 sessions (bench/bench_load.py).
                    if time.monotonic() - shown >= STREAM_INTERVAL_S:
                        shown = time.monotonic()
                        chat[-1] = {"role": "assistant", "content": streaming_html(partial)}
                        yield chat, history, gr.update(), gr.update(), "", conversation, gr.update()
        except Exception as exc:  # noqa: BLE001  (one failed question must not break the session)
            log_failure(exc)
            chat[-1] = {"role": "assistant", "content": f'<div class="refusal">⚠ {escape(str(exc))}</div>'}
            conversation = {**conversation, "positions": [*conversation.get("positions", []), None]}
            yield chat, history, gr.update(), gr.update(), "", conversation, gr.update()
            return
        assert answer is not None
        shown, sources = answer_html(answer), sources_html(answer)
        # Saved before it is shown as final: once the page shows the answer, a restart does not lose it.
        conversation, not_saved = save_turn(service.conversations, who.name, conversation, message, answer, shown,
                                            sources, as_of=answer.as_of)
        chat[-1] = {"role": "assistant", "content": shown + not_saved}
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": answer.answer}]
        yield chat, history, sources, retrieved_html(answer), "", conversation, timeline_html(answer)

    def new_chat(request: gr.Request):  # noqa: ANN202
        require(policy, request, Role.reader)
        return [], [], sources_html(None), retrieved_html(None), "", dict(NEW_CONVERSATION), timeline_html(None)

    def documents_table() -> list[list[Any]]:
        return [[d["source"], d["title"], d["date"], d["chunks"]] for d in list_documents(settings)]

    def api_documents(request: gr.Request) -> list[dict[str, Any]]:
        """The indexed documents: source, title, date, chunks."""
        require(policy, request, Role.reader)
        return list_documents(settings)

    def corpus_state(request: gr.Request):  # noqa: ANN202
        """The documents table, the Delete choices (skipped files too: they can be removed here), the header and
        the list of files not indexed."""
        require(policy, request, Role.reader)
        docs = documents_table()
        skipped = service.skipped()
        error = service.watcher.last_error if service.watcher and service.watcher.last_error else ""
        choices = [row[0] for row in docs] + sorted(skipped)
        return docs, gr.update(choices=choices), service.header(), skipped_html(skipped, error)

    def show_who(request: gr.Request) -> str:
        return who_line(policy, request)

    def refresh_corpus(request: gr.Request):  # noqa: ANN202
        return corpus_state(request)

    def undated_state(request: gr.Request) -> str:
        require(policy, request, Role.reader)
        return undated_line(documents_table())

    def upload(files: list[Any] | None, request: gr.Request,
               progress: gr.Progress = gr.Progress()):  # noqa: B008, ANN202
        who = require(policy, request, Role.editor)
        lines = []
        batch = set()
        for item in files or []:
            path = Path(item if isinstance(item, str) else item.name)
            try:
                saved = save_upload(settings, path, path.name)
                batch.add(saved.source)
                renamed = f" (a file named {saved.renamed_from} exists: saved as {saved.source})" \
                    if saved.renamed_from else ""
                lines.append(f"✔ {escape(saved.source)}{escape(renamed)}")
                lines += [f"⚠ {escape(saved.source)}: {escape(warning)}" for warning in saved.warnings]
                lines += audit(who.name, "upload", saved.source, f"as {saved.source}" if saved.renamed_from else "")
            except RagError as exc:
                lines.append(f"✖ {escape(str(exc))}")
            except OSError as exc:
                if not disk_full(exc):
                    raise
                lines.append(f"✖ {escape(path.name)}: {escape(write_error_line(exc, settings.corpus_dir))}")
        try:
            report = service.sync(GradioProgress(progress))
        except Exception as exc:
            if not disk_full(exc):
                raise
            lines.append(f"✖ the index was not updated: {escape(write_error_line(exc, settings.index_dir))}; "
                         "it catches up at the next sync")
        else:
            lines.append(escape(report.summary_line()))
            # Only this upload's files: others skipped are listed once, under the documents table.
            lines += [f"✖ skipped {escape(s['source'])}: {escape(s['reason'])}" for s in report.skipped_files
                      if s["source"] in batch]
        return "  \n".join(lines), *corpus_state(request), None

    def delete(source: str | None, request: gr.Request,
               progress: gr.Progress = gr.Progress()):  # noqa: B008, ANN202
        who = require(policy, request, Role.editor)
        if not source:
            return "Choose a document to delete.", *corpus_state(request)
        try:
            deleted = delete_document(settings, source)
        except RagError as exc:  # not in the corpus, or outside it
            return f"✖ {escape(str(exc))}", *corpus_state(request)
        logged = audit(who.name, "delete", deleted.relative_to(settings.corpus_dir.resolve()).as_posix())
        report = service.sync(GradioProgress(progress))
        return (f"Deleted {escape(source)}. {escape(report.summary_line())}" + "".join(f"  \n{x}" for x in logged),
                *corpus_state(request))

    def audit(user: str, action: str, target: str, detail: str = "") -> list[str]:
        """Log a corpus change made through the app; a failure to log is shown, the change itself stands."""
        try:
            service.audit.record(user, action, target, detail)
        except (OSError, sqlite3.Error) as exc:
            log.error("audit log not written: %s", exc)
            return [f"⚠ not written to the audit log: {escape(str(exc))}"]
        return []

    def api_ask(question: str, history_json: str = "[]", as_of: str = "",
                request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """Ask a question; `history_json` is a JSON list of {"role", "content"} turns; `as_of` the date to ask as
        of (YYYY-MM-DD or YYYY/MM/DD; empty = today). Returns the answer as JSON."""
        require(policy, request, Role.reader)
        try:
            history = json.loads(history_json or "[]")
        except ValueError:
            history = []
        try:
            filters = _filters(None, None, None, as_of)
            check_filters(filters)
        except FilterError as exc:
            raise gr.Error(str(exc)) from None
        try:
            answer = service.engine.ask(question, history=history if isinstance(history, list) else [],
                                        filters=filters)
        except Exception as exc:  # a dependency down (e.g. the Chroma server): a clear message, not a stack trace
            log_failure(exc)
            raise gr.Error(str(exc)) from exc
        return answer.to_dict()

    with gr.Blocks(title="newsrag") as app:
        who = user_bar(policy)
        header = gr.Markdown(service.header())
        history_state = gr.State([])
        conversation = gr.State(dict(NEW_CONVERSATION))
        with gr.Tab("Chat"):
            with gr.Row():
                panel_column = gr.Column(scale=1, min_width=220)
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Chat", height=480, sanitize_html=True, elem_id="chatbot",
                                         buttons=["copy"], feedback_options=("Like", "Dislike"))
                    with gr.Row():
                        question = gr.Textbox(placeholder="Ask about the articles…", show_label=False, scale=5,
                                              elem_id="question", autofocus=True)
                        as_of = as_of_control()
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    new = gr.Button("New chat", size="sm", elem_id="new-chat")
                    with gr.Accordion("Search settings", open=False):
                        top_k = gr.Slider(1, 10, value=settings.top_k, step=1, label="Passages to retrieve (top-k)")
                        source = gr.Textbox(label="Only files matching (glob)", placeholder="e.g. *.pdf or reuters/*")
                        with gr.Row():
                            since = gr.Textbox(label="Since (YYYY-MM-DD)")
                            until = gr.Textbox(label="Until (YYYY-MM-DD)")
                with gr.Column(scale=2):
                    gr.Markdown("### Timeline")
                    timeline = gr.HTML(timeline_html(None), elem_id="timeline")
                    gr.Markdown("### Sources")
                    sources = gr.HTML(sources_html(None), elem_id="sources")
                    with gr.Accordion("All retrieved passages", open=False):
                        retrieved = gr.HTML(retrieved_html(None), elem_id="retrieved")
        with gr.Tab("Corpus"):
            files = gr.File(label=f"Add articles ({', '.join(SUPPORTED_EXTENSIONS)}; up to "
                                  f"{settings.max_upload_mb:g} MB each)", file_count="multiple",
                            file_types=list(SUPPORTED_EXTENSIONS), elem_id="upload")
            add = gr.Button("Add to corpus", variant="primary", elem_id="add")
            status = gr.Markdown(elem_id="corpus-status")
            undated = gr.Markdown(elem_id="undated")
            # Filled on page load (corpus_state checks the user), not baked into the page's config.
            # Widths that fit 1400 px with long titles (wrapped): without them the title column pushed "chunks"
            # out of view.
            docs = gr.Dataframe(headers=["file", "title", "date", "chunks"], value=[], interactive=False,
                                elem_id="documents", wrap=True, column_widths=["30%", "50%", "12%", "8%"])
            not_indexed = gr.Markdown(elem_id="not-indexed")
            with gr.Row():
                # Any value reaches delete(), which checks the role and that the path is inside the corpus.
                doomed = gr.Dropdown(label="Document", choices=[], scale=4, allow_custom_value=True)
                remove = gr.Button("Delete document", variant="stop", scale=1, elem_id="delete")
        accounts_table, load_accounts = accounts_tab(policy)
        with panel_column:
            panel = conversation_panel(policy, service.conversations, chatbot=chatbot, history_state=history_state,
                                       sources=sources, retrieved=retrieved, conversation=conversation)
        inputs = [question, chatbot, history_state, top_k, source, since, until, as_of, conversation]
        outputs = [chatbot, history_state, sources, retrieved, question, conversation, timeline]
        listing = [panel["list"], panel["title"]]
        # The chat itself is an API too ("/chat"): gradio_client sessions keep their own history state, as
        # browser tabs do (the load test drives it).
        send.click(respond, inputs, outputs, api_name="chat").then(
            panel["refresh"], [conversation], listing, api_name=False)
        question.submit(respond, inputs, outputs, api_name=False).then(
            panel["refresh"], [conversation], listing, api_name=False)
        new.click(new_chat, None, outputs, api_name=False).then(
            panel["refresh"], [conversation], listing, api_name=False)
        app.load(panel["refresh"], [conversation], listing, api_name=False)
        app.load(show_who, None, who, api_name=False)
        app.load(load_accounts, None, accounts_table, api_name=False)
        # Uploads and deletions are APIs too; each handler checks the caller's role (readers are refused).
        add.click(upload, [files], [status, docs, doomed, header, not_indexed, files], api_name="upload")
        remove.click(delete, [doomed], [status, docs, doomed, header, not_indexed], api_name="delete")
        # The watcher syncs hand-made changes in the background; the tables catch up every few seconds.
        timer = gr.Timer(3)
        timer.tick(refresh_corpus, None, [docs, doomed, header, not_indexed], api_name=False)
        app.load(refresh_corpus, None, [docs, doomed, header, not_indexed], api_name=False)
        docs.change(undated_state, None, [undated], api_name=False)
        gr.api(api_ask, api_name="ask")
        gr.api(api_documents, api_name="documents")
    app.queue(default_concurrency_limit=4, max_size=64)
    return app


def serve(settings: Settings, *, sync_first: bool = True, watch: bool | None = None, block: bool = True,
          quiet: bool = False) -> tuple[gr.Blocks, ChatService]:
    # Before anything slow: a server that may not start says so at once (AccountsRequired, AccountsFileError).
    policy = AccessPolicy(settings)
    policy.check_startup()
    service = ChatService(settings, policy=policy)
    if sync_first:
        report = service.sync()
        if not quiet:
            print(report.summary_line(), flush=True)
    if settings.watch if watch is None else watch:
        service.start_watcher()
    app = build_app(service)
    throttle = LoginThrottle(settings.login_free_failures, settings.login_lockout_s)
    # Monitoring and the in-browser run history are off: the first shows every user's traffic to anyone logged
    # in, the second leaves answers in a shared browser; saved conversations replace it. Gradio's own start-up
    # lines are off (quiet): besides the address, said below, they suggest `share=True`, a public link through
    # Gradio's servers that this app never opens.
    app.launch(server_name=settings.host, server_port=settings.port, share=False, prevent_thread_lock=True,
               quiet=True, css=CSS, show_error=True, enable_monitoring=False, run_history=False,
               state_session_capacity=settings.ui_session_capacity,
               **launch_options(policy, throttle))
    install_session_expiry(app, policy, settings.session_ttl_s)
    if not quiet:
        print(f"Running on http://{settings.host}:{settings.port} (Ctrl+C stops it)", flush=True)
    if block:
        app.block_thread()
    return app, service
