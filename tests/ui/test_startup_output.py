"""What `rag serve` prints when the web chat starts: where it runs, and no hint to open a public share link
(share links are never made here: the app serves 127.0.0.1 or a network address behind accounts)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.settings import get_settings
from tests.helpers import SAMPLE_CORPUS
from tests.servers import free_port


def test_startup_names_the_address_and_no_share_link(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from rag.ui.app import serve

    shutil.copytree(SAMPLE_CORPUS, tmp_path / "corpus", ignore=lambda _, names: [
        n for n in names if n != "harbour-chess-open.md"])
    settings = get_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", port=free_port(),
                            llm_backend="extractive", watch=False)
    app, _ = serve(settings, block=False)
    try:
        out = capfd.readouterr().out
    finally:
        app.close()
    assert f"127.0.0.1:{settings.port}" in out, out
    assert "share=True" not in out and "public link" not in out, out
