"""Load: concurrent chat sessions through `gradio_client` against the real app (`rag serve` on 127.0.0.1).

Starts `rag serve` as a subprocess on a free port, on an index of evals/sample/corpus built under /tmp, with
the backend of `--backend` (env RAG_LLM_BACKEND). Then `--sessions` threads (default 20), each with its own
`gradio_client.Client` (its own Gradio session), chat for `--seconds` (default 120): a question, then a
follow-up that only makes sense with that session's own history, then the next pair, all in one growing
conversation. Even sessions use the chat endpoint `/chat` (the web chat's handler: streamed, history kept in
the server's per-session state), odd sessions the JSON endpoint `/ask` (history sent by the client).

The loop is bounded: no turn starts after the deadline, and every request still queued then is waited for (a
request that waits must not fail): with the local model (one generation at a time, ≈10 s each on 2 cores) the
20 sessions queue, which is the point of measuring it; sessions whose first answer came after the deadline
asked no follow-up.

Recorded: requests, errors (exceptions, timeouts, malformed responses), latency p50/p95/max (client side,
queueing included), time to first streamed output on `/chat`, server-side time for `/ask` (so queue wait =
latency − server time), peak RSS of the server process (VmHWM, and the sampled VmRSS of its process tree), the
load average, and history mixing:
- mixed: hard evidence that a session got another session's turn: the response echoes another question, the
  standalone question of a follow-up carries another conversation's context, or the chat transcript returned
  is not the session's own;
- off-topic follow-ups: the follow-up's cited (or, for a refusal, closest) article is not the article of the
  session's own conversation. With the deterministic extractive backend this is mixing too (it is 0 when each
  session runs alone); with the 0.5B local model it also counts the model's own mistakes, so the first turns'
  off-topic rate (no history involved) is printed alongside as the baseline.

Run: .venv/bin/python -m bench.bench_load --backend extractive|local [--seconds 120] [--out FILE]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import percentile
from tests.servers import OFFLINE_ENV, ROOT, AppServer

SAMPLE = ROOT / "evals" / "sample"

# (first question id, follow-up, id whose answer the follow-up asks for): both ids on the same article of
# evals/sample/questions.jsonl. The follow-ups lean on the first question (pronouns, "there", "that"), so
# they are only answerable from the session's own history. The dataset's five follow-up rows (f01–f05, whose
# `history` holds the first question) come first.
CONSTRUCTED_FOLLOW_UPS = [
    ("s01", "How long did it last?", "s02"),
    ("s07", "Why did that project go over budget?", "s09"),
    ("s12", "What was inflation there in February?", "s13"),
    ("s18", "How much does a ticket there cost?", "s19"),
    ("s20", "Which shipping company will operate it?", "s21"),
    ("s22", "How many people were infected in that outbreak in the north?", "s23"),
    ("s24", "What might have caused it?", "s25"),
    ("s28", "Which treaty does Aldora say this breaches?", "s29"),
    ("s30", "Which part of its business grew 31 percent?", "s31"),
    ("s16", "What pay rise did they get this year?", "s17"),
    ("s10", "What is the minimum fine for breaking the rationing rules there?", "s11"),
    ("s03", "What does he say is the main way to manage Serbia's ties with Western alliances?", "s06"),
    ("s27", "How much rubbish did their volunteers collect from the river?", "s26"),
    ("s15", "What is her name?", "s14"),
    ("s08", "How many stops does it have?", "s07"),
]


@dataclass(frozen=True)
class Pair:
    first: str
    first_answers: tuple[str, ...]  # empty for the dataset's follow-up rows: they give the first question only
    follow_up: str
    answers: tuple[str, ...]
    source: str  # the article both turns are about
    as_of: str = ""  # the dataset's `asked_on` for the conversation ("" = today): "this year" depends on it


def load_pairs(path: Path = SAMPLE / "questions.jsonl") -> list[Pair]:
    rows = {r["id"]: r for r in (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                                 if line.strip())}
    pairs = [Pair(first=r["history"][0]["content"], first_answers=(), follow_up=r["question"],
                  answers=tuple(r["answers"]), source=r["gold_sources"][0], as_of=r.get("asked_on", ""))
             for r in rows.values() if r.get("history")]
    for first_id, follow_up, answer_id in CONSTRUCTED_FOLLOW_UPS:
        first, answer = rows[first_id], rows[answer_id]
        assert first["gold_sources"] == answer["gold_sources"], (first_id, answer_id)
        pairs.append(Pair(first=first["question"], first_answers=tuple(first["answers"]), follow_up=follow_up,
                          answers=tuple(answer["answers"]), source=first["gold_sources"][0],
                          as_of=answer.get("asked_on") or first.get("asked_on", "")))
    return pairs


# ------------------------------------------------------------------------------------------ the server


@contextmanager
def app_server(backend: str, workdir: Path, log: Path, ready_s: float = 300) -> Iterator[tuple[str, int]]:
    """`rag serve` on a fresh copy of the sample corpus under `workdir`; yields (url, pid)."""
    corpus = workdir / "corpus"
    if not corpus.exists():
        shutil.copytree(SAMPLE / "corpus", corpus)
    env = {"RAG_LLM_BACKEND": backend, "RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(workdir / "index")}
    # --no-watch (AppServer's default): the corpus does not change during the run; the watcher would add noise.
    with AppServer(env, log, args=("--host", "127.0.0.1"), ready_s=ready_s) as server:
        yield server.url, server.pid


class MemorySampler(threading.Thread):
    """Polls /proc for the server's peak RSS (VmHWM is the kernel's own high-water mark; the sampled VmRSS
    of the whole process tree also counts any child process) and the 1-minute load average."""

    def __init__(self, pid: int, every_s: float = 0.5) -> None:
        super().__init__(daemon=True, name="memory-sampler")
        self.pid = pid
        self.every_s = every_s
        self.stop_event = threading.Event()
        self.peak_tree_rss_kb = 0
        self.hwm_kb = 0
        self.start_rss_kb = tree_rss_kb(pid)
        self.max_load1 = load_average()[0]

    def run(self) -> None:
        while not self.stop_event.wait(self.every_s):
            self.sample()

    def sample(self) -> None:
        self.peak_tree_rss_kb = max(self.peak_tree_rss_kb, tree_rss_kb(self.pid))
        self.hwm_kb = max(self.hwm_kb, proc_status_kb(self.pid, "VmHWM"))
        self.max_load1 = max(self.max_load1, load_average()[0])

    def stop(self) -> None:
        self.stop_event.set()
        self.join()
        self.sample()


def proc_status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_rss_kb(pid: int) -> int:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += proc_status_kb(p, "VmRSS")
        todo += children.get(p, [])
    return total


def load_average() -> tuple[float, float, float]:
    a, b, c = Path("/proc/loadavg").read_text().split()[:3]
    return float(a), float(b), float(c)


# ------------------------------------------------------------------------------------------ sessions


@dataclass
class Turn:
    session: int
    api: str
    kind: str  # "first" | "follow-up"
    question: str
    latency_s: float
    first_output_s: float | None = None  # /chat: first streamed output (time to first token, queue included)
    server_s: float | None = None  # /ask: the engine's own total time (no queue)
    error: str | None = None
    mixed: str | None = None
    off_topic: bool = False
    correct: bool | None = None  # None when the dataset gives no expected answer
    refused: bool = False
    source: str | None = None
    answer: str = ""
    previous: str = ""  # the session's previous question: with the question, all a deterministic rewrite uses


@dataclass
class LoadResult:
    backend: str
    sessions: int
    wall_s: float
    turns: list[Turn] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    peak_tree_rss_mb: float = 0.0
    start_rss_mb: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    max_load1: float = 0.0

    @property
    def errors(self) -> list[Turn]:
        return [t for t in self.turns if t.error]

    @property
    def mixed(self) -> list[Turn]:
        return [t for t in self.turns if t.mixed]

    def off_topic(self, kind: str) -> list[Turn]:
        return [t for t in self.turns if t.off_topic and t.kind == kind and not t.error]

    def inconsistent(self) -> list[tuple[str, str, str, set[str]]]:
        """(endpoint, previous question, question, answers) where one input got different answers. For the
        deterministic extractive backend any such case is a race between sessions; for the local model it
        may also be the KV cache or sampling, so it is only reported."""
        seen: dict[tuple[str, str, str], set[str]] = {}
        for t in self.turns:
            if not t.error:
                seen.setdefault((t.api, t.previous, t.question), set()).add(t.answer)
        return [(*key, answers) for key, answers in seen.items() if len(answers) > 1]


_CODE_RE = re.compile(r"<code>(.*?)</code>")
_TAG_RE = re.compile(r"<[^>]+>")


def _text(html_fragment: str) -> str:
    return html.unescape(_TAG_RE.sub("", html_fragment))


def _contains_answer(text: str, answers: tuple[str, ...]) -> bool | None:
    if not answers:
        return None
    low = text.lower()
    return any(a.lower() in low for a in answers)


class Session:
    """One chat user: its own gradio_client.Client (own session hash, so own server-side gr.State) and its own
    conversation. `history` is what this session said and was answered: the source of truth for the checks."""

    def __init__(self, index: int, url: str, api: str, pairs: list[Pair], all_pairs: list[Pair],
                 timeout_s: float, expect_rewrite: Any | None = None) -> None:
        from gradio_client import Client

        self.index = index
        self.api = api
        self.pairs = pairs
        self.all_pairs = all_pairs
        self.timeout_s = timeout_s
        # The extractive backend's rewrite is deterministic: the exact standalone question is known in advance.
        self.expect_rewrite = expect_rewrite
        self.client = Client(url, verbose=False, download_files=False)
        self.history: list[dict[str, str]] = []
        self.chat: list[Any] = []
        self.turns: list[Turn] = []

    def close(self) -> None:
        self.client.close()

    def run(self, deadline: float, max_turns: int | None = None) -> list[Turn]:
        def more() -> bool:
            return max_turns is None or len(self.turns) < max_turns

        done = 0
        # Like a user who leaves at the deadline: no turn starts after it, the one in flight is waited for.
        while time.monotonic() < deadline and more():
            pair = self.pairs[done % len(self.pairs)]
            self.ask(pair, "first")
            if self.turns[-1].error is None and time.monotonic() < deadline and more():
                self.ask(pair, "follow-up")
            done += 1
        return self.turns

    def ask(self, pair: Pair, kind: str) -> None:
        question = pair.first if kind == "first" else pair.follow_up
        started = time.perf_counter()
        own = [m["content"] for m in self.history if m["role"] == "user"]
        turn = Turn(self.index, self.api, kind, question, 0.0, previous=own[-1] if own else "")
        try:
            if self.api == "chat":
                answer_text = self._chat(question, pair.as_of, turn, started)
            else:
                answer_text = self._ask(question, pair.as_of, turn, started)
        except Exception as exc:  # noqa: BLE001  (every failure is counted, none stops the run)
            turn.error = f"{type(exc).__name__}: {exc}"[:300]
            answer_text = ""
        turn.latency_s = time.perf_counter() - started
        if turn.error is None:
            turn.off_topic = turn.source != pair.source
            turn.correct = _contains_answer(answer_text, pair.first_answers if kind == "first" else pair.answers)
            turn.answer = answer_text
            self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer_text}]
        self.turns.append(turn)

    def _wait(self, job: Any, started: float, turn: Turn) -> Any:
        """Wait for a job, noting when its first streamed output arrived. Polls every 20 ms rather than
        iterating the Job, whose iterator spins at 1 ms: 20 such threads would take CPU from the server."""
        limit = started + self.timeout_s
        while not job.done():
            if turn.first_output_s is None and job.outputs():
                turn.first_output_s = time.perf_counter() - started
            if time.perf_counter() > limit:
                job.cancel()
                raise TimeoutError(f"no answer within {self.timeout_s:.0f} s")
            time.sleep(0.02)
        return job.result(timeout=0)

    def _chat(self, question: str, as_of: str, turn: Turn, started: float) -> str:
        job = self.client.submit(question, self.chat, 5, "", "", "", as_of, api_name="/chat")
        chat, sources, _retrieved, cleared, _timeline = self._wait(job, started, turn)
        if turn.first_output_s is None:  # the whole answer came in one message
            turn.first_output_s = time.perf_counter() - started
        if cleared != "" or not isinstance(chat, list) or len(chat) != len(self.chat) + 2:
            raise ValueError(f"malformed /chat output: {len(chat) if isinstance(chat, list) else chat!r} messages")
        user, assistant = (_message_text(m) for m in chat[-2:])
        answer_html = assistant
        if html.unescape(user) != question:
            turn.mixed = f"transcript shows {html.unescape(user)!r}"
        if 'class="answer streaming"' in answer_html or not answer_html:
            raise ValueError(f"unfinished answer: {answer_html[:200]!r}")
        if answer_html.startswith('<div class="refusal">⚠'):
            raise ValueError(f"the app reported an error: {_text(answer_html)[:200]}")
        turn.refused = 'class="refusal"' in answer_html
        codes = _CODE_RE.findall(sources)
        # Cited article first; for a refusal the panel lists the closest sources instead.
        turn.source = html.unescape(codes[0]) if codes else None
        self.chat = chat
        return _text(answer_html)

    def _ask(self, question: str, as_of: str, turn: Turn, started: float) -> str:
        job = self.client.submit(question, json.dumps(self.history), as_of, api_name="/ask")
        result = self._wait(job, started, turn)
        result = json.loads(result) if isinstance(result, str) else result
        if not isinstance(result, dict) or "answer" not in result:
            raise ValueError(f"malformed /ask output: {str(result)[:200]}")
        turn.first_output_s = None  # /ask is not streamed: its answer arrives whole
        turn.server_s = result.get("timings", {}).get("total_ms", 0.0) / 1000
        turn.refused = bool(result["refused"])
        cited = result.get("citations") or []
        retrieved = result.get("retrieved") or []
        turn.source = cited[0]["source"] if cited else (retrieved[0]["source"] if retrieved else None)
        if result.get("question") != question:
            turn.mixed = f"answer to {result.get('question')!r}"
        standalone = result.get("standalone_question") or ""
        if self.history:
            own = [m["content"] for m in self.history if m["role"] == "user"]
            context = re.search(r"\(context: (.*)\)$", standalone)
            if self.expect_rewrite is not None and standalone != self.expect_rewrite(question, self.history):
                turn.mixed = f"standalone {standalone!r} is not the rewrite of this session's history"
            elif context and context.group(1) not in own:
                turn.mixed = f"standalone {standalone!r} carries another conversation's context"
            elif any(p.first in standalone for p in self.all_pairs if p.first not in own and p.first != question):
                turn.mixed = f"standalone {standalone!r} quotes another session's question"
        return str(result["answer"])


def _message_text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else message
    if isinstance(content, list):  # Gradio 6 sends message content as typed parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def session_pairs(pairs: list[Pair], index: int) -> list[Pair]:
    """Session i starts at pair i and walks the list with a stride coprime to its length: at any step the
    sessions hold different pairs, and a session's consecutive conversations change article."""
    stride = next(s for s in (7, 11, 13, 3, 1) if len(pairs) % s)
    return [pairs[(index + j * stride) % len(pairs)] for j in range(len(pairs))]


def run_sessions(url: str, sessions: int, seconds: float, *, api: str = "both", timeout_s: float = 600,
                 max_turns: int | None = None, deterministic_rewrite: bool = False) -> list[Turn]:
    """`sessions` concurrent sessions, each in its own thread with its own Client, chatting until the deadline
    (or `max_turns` each). Returns every turn of every session."""
    pairs = load_pairs()
    expect = None
    if deterministic_rewrite:
        from rag.answer.generate import heuristic_rewrite

        expect = heuristic_rewrite
    apis = {"chat": ["chat"], "ask": ["ask"], "both": ["chat", "ask"]}[api]
    clients: list[Session] = []
    errors: list[Turn] = []
    # Clients connect before the clock starts: the load is the chat, not 20 config downloads.
    for i in range(sessions):
        try:
            clients.append(Session(i, url, apis[i % len(apis)], session_pairs(pairs, i), pairs, timeout_s, expect))
        except Exception as exc:  # noqa: BLE001
            errors.append(Turn(i, apis[i % len(apis)], "connect", "", 0.0, error=f"{type(exc).__name__}: {exc}"))
    barrier = threading.Barrier(len(clients) + 1)
    deadline_box: list[float] = []

    def worker(session: Session) -> None:
        barrier.wait()
        session.run(deadline_box[0], max_turns)

    threads = [threading.Thread(target=worker, args=(s,), name=f"session-{s.index}") for s in clients]
    for t in threads:
        t.start()
    deadline_box.append(time.monotonic() + seconds)
    barrier.wait()
    for t in threads:
        t.join()
    for s in clients:
        s.close()
    return errors + [turn for s in clients for turn in s.turns]


def run_load(backend: str, sessions: int, seconds: float, *, api: str = "both", timeout_s: float = 600,
             max_turns: int | None = None, workdir: Path | None = None) -> LoadResult:
    """Start the app, warm it up with one question, then run the sessions while sampling memory and load."""
    from gradio_client import Client

    own_dir = workdir is None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="newsrag-load-", dir="/tmp"))
    try:
        with app_server(backend, workdir, workdir / "serve.log") as (url, pid):
            # One question first: the first request loads lazily built parts (BM25, the model's KV cache of the
            # system prompt); that start-up cost is not what this benchmark measures.
            warm = Client(url, verbose=False, download_files=False)
            warm.predict("Who won the Harbour Chess Open?", "[]", api_name="/ask")
            warm.close()
            sampler = MemorySampler(pid)
            result = LoadResult(backend=backend, sessions=sessions, wall_s=0.0, load_before=load_average(),
                                start_rss_mb=sampler.start_rss_kb / 1024)
            sampler.start()
            started = time.monotonic()
            result.turns = run_sessions(url, sessions, seconds, api=api, timeout_s=timeout_s,
                                        max_turns=max_turns,
                                        deterministic_rewrite=backend == "extractive")
            result.wall_s = time.monotonic() - started
            sampler.stop()
            result.load_after = load_average()
            result.peak_rss_mb = sampler.hwm_kb / 1024
            result.peak_tree_rss_mb = sampler.peak_tree_rss_kb / 1024
            result.max_load1 = sampler.max_load1
            return result
    finally:
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)


# ------------------------------------------------------------------------------------------ report


def _stats(values: list[float]) -> str:
    if not values:
        return f"{'-':>7} {'-':>7} {'-':>7}"
    return f"{percentile(values, 50):7.2f} {percentile(values, 95):7.2f} {max(values):7.2f}"


def report(result: LoadResult, seconds: float) -> str:
    ok = [t for t in result.turns if not t.error]
    lines = [
        f"backend {result.backend}: {result.sessions} concurrent gradio_client sessions, {seconds:.0f} s of new "
        f"conversations, {result.wall_s:.0f} s until the last queued answer",
        f"requests {len(result.turns)}, errors {len(result.errors)}, mixed histories {len(result.mixed)}, "
        f"inputs with differing answers {len(result.inconsistent())}, throughput {len(ok) / max(result.wall_s, 1e-9):.2f} answers/s",
        f"{'endpoint':<18} {'n':>5} {'lat p50':>7} {'p95':>7} {'max':>7}   {'1st out p50':>11} {'p95':>7} {'max':>7}"
        f"   {'server p50':>10} {'p95':>7} {'max':>7}",
    ]
    for api in ("chat", "ask"):
        for kind in ("first", "follow-up", None):
            rows = [t for t in ok if t.api == api and (kind is None or t.kind == kind)]
            if not rows:
                continue
            label = f"/{api} {kind or 'all'}"
            lines.append(
                f"{label:<18} {len(rows):>5} {_stats([t.latency_s for t in rows])}   "
                f"{'':>4}{_stats([t.first_output_s for t in rows if t.first_output_s is not None])}   "
                f"{'':>3}{_stats([t.server_s for t in rows if t.server_s is not None])}")
    lines.append("(seconds; latency from submit to the final answer, queue included; 1st out = first streamed "
                 "output of /chat; server = the engine's own time for /ask)")
    lines.append(f"{'all':<18} {len(ok):>5} {_stats([t.latency_s for t in ok])}")
    firsts = [t for t in ok if t.kind == "first"]
    follows = [t for t in ok if t.kind == "follow-up"]
    judged_f = [t for t in firsts if t.correct is not None]
    judged_u = [t for t in follows if t.correct is not None]
    lines.append(
        f"off-topic (cited article not the conversation's): first turns {len(result.off_topic('first'))}/"
        f"{len(firsts)}, follow-ups {len(result.off_topic('follow-up'))}/{len(follows)}; expected answer found: "
        f"first {sum(bool(t.correct) for t in judged_f)}/{len(judged_f)}, follow-up "
        f"{sum(bool(t.correct) for t in judged_u)}/{len(judged_u)}; refusals {sum(t.refused for t in ok)}")
    lines.append(
        f"server RSS: {result.start_rss_mb:.0f} MB after warm-up, peak {result.peak_rss_mb:.0f} MB (VmHWM), "
        f"process tree peak {result.peak_tree_rss_mb:.0f} MB (sampled); load average before "
        f"{'/'.join(f'{x:.2f}' for x in result.load_before)}, after {'/'.join(f'{x:.2f}' for x in result.load_after)}"
        f", max 1-min {result.max_load1:.2f} (2 cores, shared)")
    for t in result.errors[:10]:
        lines.append(f"  error session {t.session} /{t.api} {t.kind} {t.question!r}: {t.error}")
    for t in result.mixed[:10]:
        lines.append(f"  mixed session {t.session} /{t.api} {t.kind} {t.question!r}: {t.mixed}")
    for api, previous, question, answers in result.inconsistent()[:5]:
        lines.append(f"  differing answers /{api} {question!r} after {previous!r}: {sorted(answers)}")
    for t in result.off_topic("follow-up")[:10]:
        lines.append(f"  off-topic follow-up session {t.session} /{t.api} {t.question!r}: cited {t.source}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=["extractive", "local"], default="extractive")
    parser.add_argument("--seconds", type=float, default=120, help="how long new conversations start")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--api", choices=["both", "chat", "ask"], default="both",
                        help="even sessions /chat and odd /ask (both), or all on one endpoint")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds one request may take, queue included, before it counts as an error")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args()
    os.environ.update(OFFLINE_ENV)  # gradio_client in this process must not look for the Hub either
    result = run_load(args.backend, args.sessions, args.seconds, api=args.api, timeout_s=args.timeout)
    text = report(result, args.seconds)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    sys.exit(1 if result.errors or result.mixed else 0)


if __name__ == "__main__":
    main()
