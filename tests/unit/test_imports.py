"""Imports parsed in a capped child process (src/examvault/services/imports.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from examvault import errors
from examvault.formats import ImportRefused
from examvault.services.imports import Sandbox
from tests.helpers import moodle_quiz

QUIZ = Path(__file__).parent.parent / "fixtures" / "formats" / "moodle_xml" / "quiz.xml"


async def test_a_file_is_parsed_in_a_child_as_it_would_be_in_process() -> None:
    imported = await Sandbox(60, 1 << 30, 1).import_exam(QUIZ.read_bytes(), filename="quiz.xml")
    assert sum(len(s["questions"]) for s in imported.definition["sections"]) == 6


async def test_a_refusal_in_the_child_is_raised_with_its_problems() -> None:
    with pytest.raises(ImportRefused) as refused:
        await Sandbox(60, 1 << 30, 1).import_exam(b"just some words", filename="notes.txt")
    assert "cannot tell the file's format" in refused.value.errors[0]["msg"]


async def test_a_file_over_the_memory_cap_is_too_complex() -> None:
    with pytest.raises(errors.ImportTooComplex) as over:
        await Sandbox(60, 100 << 20, 1).import_exam(moodle_quiz(4900, 2900), filename="big.xml")
    assert over.value.status == 422
    assert (
        over.value.extra["errors"][0]["msg"] == "parsing the file takes more than 100 MiB of memory"
    )


async def test_past_its_concurrency_an_import_is_503_with_retry_after() -> None:
    sandbox = Sandbox(60, 1 << 30, 1)
    first = asyncio.create_task(sandbox.import_exam(QUIZ.read_bytes(), filename="quiz.xml"))
    await asyncio.sleep(0)  # the first runs up to its child's start, counted as running
    assert sandbox.running == 1
    with pytest.raises(errors.Unavailable) as busy:
        await sandbox.import_exam(QUIZ.read_bytes(), filename="quiz.xml")
    assert busy.value.response_headers()["Retry-After"] == "5"
    await first
    assert sandbox.running == 0  # and the next one is parsed
    await sandbox.import_exam(QUIZ.read_bytes(), filename="quiz.xml")
