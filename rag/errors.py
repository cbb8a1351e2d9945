"""The errors a user can cause or meet, under one root.

Every error that says something a user can act on (a missing corpus folder, a bad date filter, a Chroma
server that does not answer, a model package that is missing...) is a `RagError`, and its message is one line
that says what went wrong and what to do. The CLI and the web app catch `RagError` and show that line;
anything else that escapes is a bug and keeps its traceback.

A new user-facing error is a subclass of `RagError` here (or, where it needs its own behaviour, next to the
code that raises it, as `rag.loaders.LoadError`). The second base keeps the standard meaning for callers that
catch by kind (`except ValueError`, `except FileNotFoundError`).
"""

from __future__ import annotations


class RagError(Exception):
    """An error a user can cause or meet; `str(error)` is the one line shown to them."""


class UsageError(RagError):
    """A command or request that cannot run as given (a missing argument, an unreadable file it names)."""


# ----------------------------------------------------------------------------------------- corpus and ingest


class CorpusMissing(RagError, FileNotFoundError):
    """The corpus folder does not exist."""


class IngestBusy(RagError, RuntimeError):
    """Another ingest holds the index's lock and did not let go in time."""


class UploadRejected(RagError, ValueError):
    """One-line reason an uploaded file was not saved."""


class DocumentNotFound(RagError, FileNotFoundError):
    """A document to delete is not in the corpus."""


class OutsideCorpus(RagError, ValueError):
    """A document path that points outside the corpus folder."""


# ------------------------------------------------------------------------------------------ index and search


class IndexUnavailable(RagError, RuntimeError):
    """The index (local Chroma folder or Chroma server) cannot be opened or read."""


class FilterError(RagError, ValueError):
    """A search filter that cannot be applied (e.g. a date that is not a date)."""


class AsOfError(RagError, ValueError):
    """An as-of date that cannot be read (rag/timewindow.py); wrapped into FilterError or QuestionFileError."""


# ---------------------------------------------------------------------------------------------------- models


class EmbeddingModelUnavailable(RagError, RuntimeError):
    """The embedding model cannot be loaded."""


class SupportModelUnavailable(RagError, RuntimeError):
    """The model a citation checker needs is not installed."""


class ModelUnavailable(RagError, RuntimeError):
    """The packaged model cannot be provided: a part package is missing or altered, or the hash differs."""


class LocalModelError(RagError, RuntimeError):
    """llama.cpp rejected or failed the request (e.g. the prompt does not fit the context window)."""


class BackendUnavailable(RagError, RuntimeError):
    """The configured answering backend cannot be built (model missing, server misconfigured)."""


# -------------------------------------------------------------------------------------------------- accounts


class AccountError(RagError, ValueError):
    """A problem with accounts (bad name, unknown user, weak password)."""


class AccountsFileError(AccountError):
    """The accounts file is unsafe (readable by others) or damaged: one line naming the file and the fix."""


class AccountsRequired(AccountError):
    """`rag serve` on a non-loopback address without any account."""


class AccessDenied(RagError, PermissionError):
    """A request its user may not make (not logged in, or a role too low)."""


class ConversationNotFound(RagError, LookupError):
    """A saved conversation (or an answer in it) that does not exist, or not for this user."""


# ---------------------------------------------------------------------------------------------------- inputs


class QuestionFileError(RagError, ValueError):
    """A malformed line of a question file (`--queries`, an eval dataset), named by file and line number."""


DatasetError = QuestionFileError  # an eval dataset is a question file
