"""The docs stay true: every setting documented, every measured figure dated with its command, links that resolve."""

from __future__ import annotations

import re
from pathlib import Path

from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def test_every_setting_has_a_row_in_the_configuration_page() -> None:
    rows = {m.group(1) for m in re.finditer(r"^\| `(RAG_[A-Z0-9_]+)`", (DOCS / "configuration.md").read_text(),
                                            re.M)}
    missing = [f"RAG_{name.upper()}" for name in Settings.model_fields if f"RAG_{name.upper()}" not in rows]
    assert not missing, f"add to docs/configuration.md: {', '.join(missing)}"
    unknown = rows - {f"RAG_{name.upper()}" for name in Settings.model_fields}
    assert not unknown, f"docs/configuration.md names settings that do not exist: {', '.join(sorted(unknown))}"


def test_every_benchmark_section_has_a_date_and_a_command() -> None:
    text = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    assert len(sections) >= 5
    for section in sections:
        title = section.splitlines()[0]
        assert re.search(r"Measured \d{4}-\d{2}-\d{2}", section), f"{title}: no 'Measured YYYY-MM-DD'"
        assert re.search(r"commands?:", section) and "`" in section, f"{title}: no command"


def links(path: Path) -> list[str]:
    return [target for target in LINK.findall(path.read_text(encoding="utf-8"))
            if not target.startswith(("http://", "https://", "#", "mailto:"))]


def test_readme_is_a_front_page_that_points_only_inside_the_repository() -> None:
    readme = ROOT / "README.md"
    assert len(readme.read_bytes()) <= 8_000, "README.md is the front page: put details in docs/"
    text = readme.read_text(encoding="utf-8")
    assert "../" not in text, "README.md must not point outside the repository"
    targets = links(readme)
    assert "docs/screenshot.png" in targets and "docs/configuration.md" in targets
    for target in targets:
        assert (ROOT / target.split("#")[0]).resolve().is_relative_to(ROOT), target
        assert (ROOT / target.split("#")[0]).exists(), f"README.md links to a missing {target}"


def test_links_between_the_docs_resolve() -> None:
    for page in DOCS.glob("*.md"):
        for target in links(page):
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            assert resolved.exists(), f"{page.name} links to a missing {target}"
            if anchor and resolved.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", resolved.read_text(encoding="utf-8"), re.M)
                slugs = {re.sub(r"[^\w\- ]", "", h.lower()).strip().replace(" ", "-") for h in headings}
                assert anchor in slugs, f"{page.name} links to a missing heading {target}"
