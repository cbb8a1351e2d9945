from __future__ import annotations

from pathlib import Path

import pytest

from rag.corpus import UploadRejected, delete_document, safe_filename, save_upload


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd.md", "passwd.md"),
    ("/abs/path/news.txt", "news.txt"),
    ("..\\..\\win.html", "win.html"),
    (".hidden.md", "hidden.md"),
    ("line\nbreak.md", "linebreak.md"),
    ("Ünïcode name.PDF", "Ünïcode name.pdf"),
    ("a" * 300 + ".txt", "a" * 100 + ".txt"),
])
def test_safe_filename_strips_folders_and_oddities(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_upload_is_saved_inside_the_corpus_only(make_settings, tmp_path: Path) -> None:
    settings = make_settings(max_upload_mb=0.001)
    src = tmp_path / "up.md"
    src.write_text("hello", encoding="utf-8")
    saved = save_upload(settings, src, "../../outside.md")
    assert saved.path.parent == settings.corpus_dir.resolve() and saved.source == "outside.md"
    assert not (tmp_path / "outside.md").exists()
    again = save_upload(settings, src, "outside.md")
    assert again.source == "outside (2).md" and again.renamed_from == "outside.md", "no silent overwrite"


def test_upload_refusals_are_clear(make_settings, tmp_path: Path) -> None:
    settings = make_settings(max_upload_mb=0.001)
    big = tmp_path / "big.md"
    big.write_text("x" * 5000, encoding="utf-8")
    exe = tmp_path / "x.exe"
    exe.write_text("MZ", encoding="utf-8")
    link = tmp_path / "link.md"
    link.symlink_to("/etc/hostname")
    with pytest.raises(UploadRejected, match="not allowed"):
        save_upload(settings, exe, "x.exe")
    with pytest.raises(UploadRejected, match="limit"):
        save_upload(settings, big, "big.md")
    with pytest.raises(UploadRejected, match="regular file"):
        save_upload(settings, link, "link.md")
    assert list(settings.corpus_dir.iterdir()) == []


def test_delete_refuses_paths_outside_the_corpus(make_settings, tmp_path: Path) -> None:
    settings = make_settings()
    victim = tmp_path / "victim.md"
    victim.write_text("keep me", encoding="utf-8")
    with pytest.raises(ValueError, match="not inside"):
        delete_document(settings, "../victim.md")
    assert victim.exists()
    (settings.corpus_dir / "a.md").write_text("x", encoding="utf-8")
    delete_document(settings, "a.md")
    assert not (settings.corpus_dir / "a.md").exists()


@pytest.mark.parametrize("points_to", ["outside", "nowhere", "inside"])
def test_delete_removes_a_symbolic_link_never_its_target(make_settings, tmp_path: Path, points_to: str) -> None:
    # review2 item 5: the Corpus tab lists skipped links ("fix or delete them") and offers them in Delete.
    settings = make_settings()
    target = {"outside": tmp_path / "victim.md", "nowhere": tmp_path / "gone.md",
              "inside": settings.corpus_dir / "real.md"}[points_to]
    if points_to != "nowhere":
        target.write_text("keep me", encoding="utf-8")
    (settings.corpus_dir / "sub").mkdir()
    for name in ("linked.md", "sub/linked.md"):
        (settings.corpus_dir / name).symlink_to(target)
        delete_document(settings, name)
        assert not (settings.corpus_dir / name).is_symlink()
        assert target.exists() == (points_to != "nowhere")
    outside_link = tmp_path / "outer.md"
    outside_link.symlink_to(target)
    with pytest.raises(ValueError, match="not inside"):
        delete_document(settings, "../outer.md")
    assert outside_link.is_symlink()


def test_a_file_the_ingest_would_skip_is_refused_before_it_is_saved(make_settings, tmp_path: Path) -> None:
    settings = make_settings()
    bad = {"binary.txt": b"abc\x00def", "latin1.txt": "caf\u00e9 cr\u00e8me".encode("latin-1"),
           "broken.pdf": b"%PDF-1.4\n1 0 obj <<", "fake.docx": b"this is no zip", "blank.md": b"  \n\n"}
    reasons = {"binary.txt": "binary content (NUL bytes)", "latin1.txt": "not valid UTF-8",
               "broken.pdf": "corrupt or truncated PDF", "fake.docx": "not a valid DOCX", "blank.md": "empty file"}
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(UploadRejected) as refused:
            save_upload(settings, tmp_path / name, name)
        assert str(refused.value).startswith(f"{name}: {reasons[name]}") and "\n" not in str(refused.value)
    assert list(settings.corpus_dir.iterdir()) == [], "nothing refused is saved, not even a temporary file"


def test_a_broken_new_version_of_a_file_is_not_saved_beside_it(make_settings, tmp_path: Path) -> None:
    settings = make_settings()
    good = tmp_path / "crane.md"
    good.write_text("# Crane collapse\n\nA crane collapsed.", encoding="utf-8")
    save_upload(settings, good, "crane.md")
    broken = tmp_path / "upload" / "crane.md"
    broken.parent.mkdir()
    broken.write_bytes(b"\x00\x01binary")
    with pytest.raises(UploadRejected, match="binary content"):
        save_upload(settings, broken, "crane.md")
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == ["crane.md"]


def test_an_upload_with_an_unreadable_date_is_saved_with_its_warning(make_settings, tmp_path: Path) -> None:
    settings = make_settings()
    path = tmp_path / "bad-date.md"
    path.write_text("---\ntitle: Bad date\ndate: 2026-13-45\n---\n\nThe text is kept.", encoding="utf-8")
    saved = save_upload(settings, path, path.name)
    assert saved.source == "bad-date.md" and saved.warnings == ("unreadable date '2026-13-45': indexed without a date",)
