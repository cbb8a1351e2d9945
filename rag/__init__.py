"""newsrag: grounded question answering over a folder of news articles."""

from rag import offline as _offline  # noqa: F401  (sets offline environment before any model import)

__version__ = "0.1.0"
