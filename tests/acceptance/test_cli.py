"""The command line: import an exam file, register candidates from a CSV, export."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import example_dir

pytestmark = pytest.mark.slow


def examvault(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "examvault", *args], cwd=cwd, capture_output=True, text=True,
        timeout=120, env={**os.environ, **env},
    )  # fmt: skip


def test_import_register_and_export_from_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    r = examvault("import", str(example_dir() / "exam.json"), "--database", db, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "exam 'example-1' stored, version 1" in r.stdout
    again = examvault("import", str(example_dir() / "exam.json"), "--database", db, cwd=tmp_path)
    assert "unchanged" in again.stdout

    people = tmp_path / "people.csv"
    people.write_text("id,name\nC1,Asha\nC2,Ravi\n")
    out = tmp_path / "tokens.csv"
    r = examvault("register", "example-1", str(people), "--out", str(out), "--database", db,
                  cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open()))
    assert [row["id"] for row in rows] == ["C1", "C2"] and all(
        len(row["token"]) > 20 for row in rows
    )
    r = examvault("register", "example-1", str(people), "--database", db, cwd=tmp_path)
    assert r.returncode == 2 and "already registered" in r.stderr

    r = examvault("export", "example-1", "--format", "json", "--out", str(tmp_path / "x.json"),
                  "--database", db, cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    exported = json.loads((tmp_path / "x.json").read_text())
    assert exported["id"] == "example-1" and len(exported["sections"]) == 2


def test_a_broken_exam_file_is_refused_with_its_faults(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "x", "title": "x", "duration_seconds": 60, "sections": [
        {"id": "a", "questions": [{"id": "q", "type": "single", "options": [{"id": "A"}],
                                   "answer": "Z", "marking": "plus4"}]}]}))  # fmt: skip
    r = examvault("import", str(bad), "--database", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path)
    assert r.returncode == 2
    assert "unknown options: Z" in r.stderr and "nothing was imported" in r.stderr


def test_a_dry_run_lists_each_item_and_stores_nothing(tmp_path: Path) -> None:
    pictures = Path(__file__).parents[1] / "fixtures" / "formats" / "moodle_xml" / "pictures.xml"
    db = tmp_path / "dry.db"
    r = examvault("import", "--dry-run", str(pictures), "--database", f"sqlite:///{db}",
                  cwd=tmp_path)  # fmt: skip
    assert r.returncode == 1, r.stderr  # the import would be refused
    lines = r.stdout.splitlines()
    assert lines[0] == "exam 'pictures': pictures"
    assert lines[1] == (
        "  Old_incline  single  [correct 2, wrong 0]  section Pictures  media: incline.png"
    )
    assert lines[2].startswith("  Old_lens_no_data  REFUSED (quiz/question[3]): shows a picture")
    assert "  Plain  single  [correct 1, wrong 0]  section Pictures" in lines
    assert lines[-1].startswith("dry run: the import would be refused")
    r = examvault("import", "--dry-run", "--json", "--skip-unsupported", str(pictures),
                  "--database", f"sqlite:///{db}", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["importable"] is True and report["questions"] == 4
    assert len(report["skipped"]) == 3
    assert not db.exists(), "a dry run opens no database and stores nothing"


def test_an_import_with_pictures_stores_them_and_the_export_writes_them(tmp_path: Path) -> None:
    pictures = Path(__file__).parents[1] / "fixtures" / "formats" / "moodle_xml" / "pictures.xml"
    db = f"sqlite:///{tmp_path / 'media.db'}"
    r = examvault("import", "--skip-unsupported", str(pictures), "--database", db, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "exam 'pictures' stored, version 1, 4 questions, 3 pictures" in r.stdout
    r = examvault("export", "pictures", "--format", "moodle_xml", "--database", db,
                  cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    written = (tmp_path / "pictures.moodle.xml").read_text()
    assert '<file name="circuit_a.png" path="/" encoding="base64">' in written
    r = examvault("export", "pictures", "--format", "gift", "--database", db, cwd=tmp_path)
    assert r.returncode == 2 and "GIFT cannot hold pictures" in r.stderr


def test_sqlite_is_served_by_one_process_only(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'one.db'}"
    r = examvault("serve", "--workers", "2", "--database", db, cwd=tmp_path)
    assert r.returncode == 2
    assert "SQLite is served by one process" in r.stderr
    assert not (tmp_path / "one.db").exists(), "refused before anything was created"


def test_a_wrong_setting_is_named_in_one_line_not_a_traceback(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'one.db'}"
    r = examvault("serve", "--database", db, cwd=tmp_path, EXAMVAULT_WRITERS="2")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "examvault: Value error, EXAMVAULT_WRITERS above 1 needs PostgreSQL: SQLite has one "
        "writer a file"
    )
    r = examvault("serve", "--database", db, cwd=tmp_path, EXAMVAULT_WRITE_BATCH_LIMIT="many")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("examvault: EXAMVAULT_WRITE_BATCH_LIMIT: ")
    assert not (tmp_path / "one.db").exists(), "refused before anything was created"
