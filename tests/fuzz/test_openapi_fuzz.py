"""A property-based fuzz of the whole API, generated from its own OpenAPI document.

Schemathesis reads `/api/v1/openapi.json` from the real ASGI app on SQLite and, for every
operation, sends schema-valid and schema-invalid requests with the admin token, with
a candidate token and with an invigilator token (one room). The app is seeded first with
an exam, candidates in two rooms, an invigilator and attempts, and path parameters and
bodies are steered towards them part of the time, so that candidate routes run with
real attempts (the candidate's own, and someone else's), save bodies name real
questions, and the exam day's actions, announcements and PATCHes reach real candidates
and rooms (inside the invigilator's room and outside it). Every response must hold to docs/api.md:

- no 5xx, except a 503 that carries Retry-After;
- every error is application/problem+json with `type`, `title`, `status`, `detail`;
- status codes, content types, headers and bodies conform to the document;
- a schema-invalid request is refused (4xx); a request without a token is 401;

and, once the fuzz is over, every answer acknowledged before it is still stored exactly.

The number of examples is bounded for CI (`FUZZ_EXAMPLES`, 20 by default, for each
operation, token and kind of case); docs/security.md gives the command and the result of
a longer run, and what the fuzz found.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.hooks import HookDispatcher, HookScope
from schemathesis.python import asgi
from schemathesis.specs.openapi import checks as openapi_checks

from examvault.clock import ManualClock
from examvault.domain.answers import MAX_SEQ
from examvault.settings import Settings
from examvault.store.migrate import upgrade
from examvault.web.app import create_app
from tests import helpers
from tests.helpers import ADMIN, small_exam, to_json

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
EXAM = "fuzz-exam"
PROBLEM_FIELDS = {"type": str, "title": str, "status": int, "detail": str}


def _labels() -> list[str]:
    """Every operation in the document, as "METHOD /path"; building an app touches nothing."""
    app = create_app(Settings(admin_token="collect", database_url="sqlite://"))
    return [f"{m.upper()} {p}" for p, ops in app.openapi()["paths"].items() for m in ops]


LABELS = _labels()


@dataclass
class Fuzzed:
    """The seeded app, its schema, and what the fuzz did to it."""

    app: Any
    schema: Any
    tokens: dict[str, str]
    attempts: dict[str, str]
    questions: dict[str, str]
    stored: dict[str, dict[str, Any]]
    scripts: list[str]
    steering: HookDispatcher | None = None
    statuses: Counter[int] = field(default_factory=Counter)

    def __repr__(self) -> str:  # hypothesis prints the test's arguments on a failure
        return f"Fuzzed(attempts={self.attempts})"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ROOMS = {"R1": "room-a", "R2": "room-b", "R3": "room-a"}
INVIGILATOR = "INV"  # of room-a


def seeded_exam() -> dict[str, Any]:
    """Every question type: the small exam and a section of matched and manual text."""
    doc = small_exam(EXAM, n=2)
    doc["sections"].append(
        {
            "id": "written",
            "questions": [
                {"id": "t0", "type": "text", "answer": ["Paris"], "marking": {"correct": 1}},
                {"id": "e0", "type": "text", "max_chars": 200,
                 "marking": {"correct": 4, "manual": True, "step": "1/4"}},
            ],
        }
    )  # fmt: skip
    return doc


def _seed(
    client: Any,
) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, Any]], list[str]]:
    """An exam, three candidates in two rooms, an invigilator of one room, two attempts
    with acknowledged answers, a third one submitted with a written answer, a marker
    (token "M1") and the scripts' ids."""
    r = client.post("/api/v1/exams", json=to_json(seeded_exam()), headers=_bearer(ADMIN))
    assert r.status_code == 201, r.text
    people = {
        "candidates": [{"id": c, "name": f"Name {c}", "room": room} for c, room in ROOMS.items()]
    }
    r = client.post(f"/api/v1/exams/{EXAM}/candidates", json=people, headers=_bearer(ADMIN))
    assert r.status_code == 201, r.text
    tokens = {c["id"]: c["token"] for c in r.json()["candidates"]}
    staff = {"invigilators": [{"id": INVIGILATOR, "name": "Ines", "rooms": ["room-a"]}]}
    r = client.post(f"/api/v1/exams/{EXAM}/invigilators", json=staff, headers=_bearer(ADMIN))
    assert r.status_code == 201, r.text
    tokens[INVIGILATOR] = r.json()["invigilators"][0]["token"]
    attempts = {}
    for cid in ("R1", "R2"):
        r = client.post(f"/api/v1/exams/{EXAM}/attempts", headers=_bearer(tokens[cid]))
        assert r.status_code == 201, r.text
        attempts[cid] = r.json()["attempt_id"]
    # R1 is the candidate the fuzz acts as: its answers carry the highest seq there is, so
    # no item the fuzz sends can legitimately replace them. R2's token is never fuzzed.
    saves = {
        "R1": [
            {"question_id": "s0", "response": "B", "seq": MAX_SEQ, "time_spent_ms": 1200},
            {"question_id": "m0", "response": ["A", "C"], "seq": MAX_SEQ},
            {"question_id": "n0", "response": "2.5000000000000000001", "seq": MAX_SEQ},
        ],
        "R2": [
            {"question_id": "s1", "response": "D", "seq": 3, "marked_for_review": True},
            {"question_id": "m1", "response": ["B"], "seq": 4},
            {"question_id": "n1", "response": -0.5, "seq": 5},
        ],
    }
    stored = {}
    for cid, items in saves.items():
        aid = attempts[cid]
        r = client.put(
            f"/api/v1/attempts/{aid}/answers", json={"answers": items}, headers=_bearer(tokens[cid])
        )
        assert r.status_code == 200 and len(r.json()["accepted"]) == len(items), r.text
        r = client.get(f"/api/v1/attempts/{aid}", headers=_bearer(tokens[cid]))
        stored[cid] = r.json()["answers"]
        assert len(stored[cid]) == len(items)
    r = client.post(f"/api/v1/exams/{EXAM}/attempts", headers=_bearer(tokens["R3"]))
    essay = {"answers": [{"question_id": "e0", "response": "An essay.", "seq": 1}]}
    r = client.post(
        f"/api/v1/attempts/{r.json()['attempt_id']}/submit", json=essay,
        headers=_bearer(tokens["R3"]),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/exams/{EXAM}/markers", json={"markers": [{"id": "M1"}]}, headers=_bearer(ADMIN)
    )
    assert r.status_code == 201, r.text
    tokens["M1"] = r.json()["markers"][0]["token"]
    r = client.get(f"/api/v1/exams/{EXAM}/scripts", headers=_bearer(tokens["M1"]))
    scripts = [sc["script_id"] for sc in r.json()["scripts"]]
    assert len(scripts) == 1, r.text
    return tokens, attempts, stored, scripts


NUMERIC_TEXT = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"  # docs/api.md, ASCII digits
RESPONSES = {
    "single": st.sampled_from(["A", "B", "C", "D", "", None]),
    "multiple": st.none() | st.lists(st.sampled_from("ABCD"), unique=True),
    "numeric": st.none()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.from_regex(NUMERIC_TEXT, fullmatch=True),
    "text": st.none() | st.text(max_size=250),
}
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def _import_files() -> list[bytes]:
    """Every format fixture, good and bad, and one QTI package zipped."""
    files = [p.read_bytes() for p in sorted(FIXTURES.glob("*/*")) if p.is_file()]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as z:
        for p in sorted((FIXTURES / "qti" / "qti3_package").rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(FIXTURES / "qti" / "qti3_package").as_posix())
    return [*files, package.getvalue()]


# Exam-day actions on real targets: one candidate, a room (the invigilator's or not), all.
ACTION_BODIES = [
    {"action": action, "reason": "fuzz", **seconds, **target}
    for action, seconds in [
        ("extend", {"seconds": 60}), ("pause", {}), ("resume", {}),
        ("reopen", {"seconds": 600}), ("submit", {}),
    ]
    for target in ({"candidates": ["R3"]}, {"candidates": ["R1", "R2"]}, {"room": "room-a"},
                   {"room": "room-b"}, {"all": True})
]  # fmt: skip


def _steering(fuzzed: Fuzzed) -> HookDispatcher:
    """Hooks that send part of the requests to the seeded exam, attempts and questions.

    Each keeps the generated value as one of its choices, so the fuzz still sends
    arbitrary data; the others reach the code behind the first checks: real attempts
    (the candidate's own and another's), saves that fit their questions, exam documents
    the server accepts, and real files to import.
    """
    question_ids = sorted(fuzzed.questions)
    files = _import_files()
    # Applied to schema-valid cases only: a negative case must stay as generated, or the
    # check that it is refused would judge a request the hook had made valid.
    hooks = HookDispatcher(scope=HookScope.TEST)

    @hooks.hook("flatmap_path_parameters")
    def _paths(_: Any, params: dict[str, Any]) -> Any:
        if not isinstance(params, dict):
            return st.just(params)
        choices = [params]
        if "exam_id" in params:
            choices.append(params | {"exam_id": EXAM})
        if "attempt_id" in params:
            own, other = fuzzed.attempts["R1"], fuzzed.attempts["R2"]
            choices += [params | {"attempt_id": aid} for aid in (own, own, own, other)]
        if "candidate_id" in params:
            choices += [params | {"exam_id": EXAM, "candidate_id": c} for c in ROOMS]
        return st.sampled_from(choices)

    def item(raw: Any) -> Any:
        if not isinstance(raw, dict):
            return st.just(raw)
        qid = st.sampled_from(question_ids)
        return st.one_of(st.just(raw), qid.map(lambda q: raw | {"question_id": q}), fit(raw))

    def fit(raw: Any) -> Any:
        """The item, made to fit a real question (JSON Schema lets an integer be 7.0; we do not)."""
        whole = {k: int(v) for k, v in raw.items() if isinstance(v, float) and v.is_integer()}
        return st.sampled_from(question_ids).flatmap(
            lambda q: RESPONSES[fuzzed.questions[q]].map(
                lambda r: raw | whole | {"question_id": q, "response": r}
            )
        )

    @hooks.hook("flatmap_body")
    def _bodies(ctx: Any, body: Any) -> Any:
        path = ctx.operation.path if ctx.operation is not None else ""
        if not isinstance(body, dict):
            return st.just(body)
        if path.endswith(("/answers", "/submit")) and isinstance(body.get("answers"), list):
            raw = body["answers"]
            mixed = st.tuples(*(item(i) for i in raw))
            fitting = st.tuples(*(fit(i) if isinstance(i, dict) else st.just(i) for i in raw))
            return st.one_of(mixed, fitting, fitting).map(lambda new: body | {"answers": list(new)})
        if path == "/api/v1/exams":
            exam_id = body.get("id")
            valid = small_exam(exam_id if isinstance(exam_id, str) else "fuzz-new", n=1)
            changed = small_exam(EXAM, n=1)  # the seeded exam has attempts: 409
            return st.sampled_from([body, to_json(valid), to_json(changed)])
        if path.endswith("/actions"):
            return st.sampled_from([body, *ACTION_BODIES])
        if path.endswith("/announcements"):
            return st.sampled_from([body, *({"text": "Quiet, please", "room": r}
                                            for r in ("room-a", "room-b", None))])  # fmt: skip
        if path.endswith("/candidates/{candidate_id}"):
            return st.sampled_from([body, {"room": "room-b"}, {"room": None},
                                    {"extra_seconds": 600}, {"room": "room-a", "extra_seconds": 0}])  # fmt: skip
        if path.endswith("/invigilators"):
            return st.sampled_from([body, {"invigilators": [{"id": INVIGILATOR}]},
                                    {"invigilators": [{"id": "INV2", "rooms": ["room-b"]}]}])  # fmt: skip
        if path == "/api/v1/exams/import" and "file" in body:
            return st.sampled_from([body, *(body | {"file": f} for f in files)])
        if path.endswith("/marks") and isinstance(body.get("marks"), list):
            # Real script ids, with marks in range, off the step, or out of range.
            real = st.fixed_dictionaries(
                {
                    "script_id": st.sampled_from(fuzzed.scripts),
                    "mark": st.sampled_from([0, 4, "1/4", 2.5, "1/3", 5, -1, "3.75"]),
                }
            )
            marks = st.lists(st.one_of(real, st.sampled_from(body["marks"] or [{}])), max_size=3)
            return st.one_of(st.just(body), marks.map(lambda ms: body | {"marks": ms}))
        return st.just(body)

    return hooks


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """The app on a fresh SQLite file, seeded, served in-process by schemathesis."""
    tmp = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{tmp / 'examvault.db'}"
    upgrade(url)
    app = create_app(helpers.test_settings(url, tmp), clock=ManualClock())
    try:
        # The client starts the app's lifespan in schemathesis's event-loop thread, where
        # every request of the fuzz is then served.
        with asgi.get_client(app) as client:
            tokens, attempts, stored, scripts = _seed(client)
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
        # The token is sent by the test (as admin, as a candidate); `ignored_auth` checks
        # requests without one. Unknown query parameters are ignored, as HTTP servers do.
        schema.config.generation.update(
            with_security_parameters=False, allow_extra_parameters=False
        )
        questions = {q["id"]: q["type"] for s in seeded_exam()["sections"] for q in s["questions"]}
        fuzzed = Fuzzed(app, schema, tokens, attempts, questions, stored, scripts)
        fuzzed.steering = _steering(fuzzed)
        yield fuzzed
    finally:
        asgi.shutdown_lifespans()


def no_server_error(ctx: Any, response: Any, case: Any) -> None:
    """No 5xx at all, except a 503 that says when to retry."""
    status = response.status_code
    if status == 503:
        assert response.headers.get("retry-after"), "503 without Retry-After"
    else:
        assert status < 500, f"server error {status}: {response.text[:500]}"


def problem_json(ctx: Any, response: Any, case: Any) -> None:
    """Every error is application/problem+json with type, title, status and detail."""
    if response.status_code < 400:
        return
    media = response.headers.get("content-type", [""])
    media = media[0] if isinstance(media, list) else media
    assert media.split(";")[0].strip() == "application/problem+json", (
        f"{response.status_code} sent as {media!r}: {response.text[:300]}"
    )
    body = response.json()
    for name, kind in PROBLEM_FIELDS.items():
        assert isinstance(body.get(name), kind), f"problem without {name}: {body}"
    assert body["status"] == response.status_code, body
    if response.status_code == 429:
        assert response.headers.get("retry-after"), "429 without Retry-After"


def negative_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schema-invalid data is refused; 413 counts (a generated body can pass 1 MiB)."""
    if response.status_code == 413:
        return None
    result: bool | None = openapi_checks.negative_data_rejection(ctx, response, case)
    return result


# What an invigilator token may call (docs/api.md, Exam day); everything else is 403.
INVIGILATOR_ROUTES = {
    "GET /api/v1/exams/{exam_id}",
    "GET /api/v1/exams/{exam_id}/stats",
    "GET /api/v1/exams/{exam_id}/candidates",
    "GET /api/v1/audit",
    "POST /api/v1/exams/{exam_id}/actions",
    "POST /api/v1/exams/{exam_id}/announcements",
    "GET /api/v1/exams/{exam_id}/announcements",
    "GET /api/v1/exams/{exam_id}/media/{name}",
    "GET /api/v1/staff/me",
}
SECRET_KEYS = {"answer", "key_version", "score", "scores", "result", "response", "token"}


def _keys(doc: Any) -> Iterator[str]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield k
            yield from _keys(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _keys(v)


def invigilator_reach(label: str) -> Any:
    """An invigilator gets 403 outside its routes, and never sees a key, response or score."""

    def check(ctx: Any, response: Any, case: Any) -> None:
        status = response.status_code
        if label not in INVIGILATOR_ROUTES:
            # A generated path that routes nowhere (a `/` or a control character in it)
            # is an unknown route: 404 before any token is looked at.
            unrouted = status == 404 and response.json().get("detail") == "no such route"
            assert status in (403, 405, 413) or unrouted, f"{label}: {status} for an invigilator"
        elif status < 300 and "json" in str(response.headers.get("content-type", "")):
            leaked = SECRET_KEYS & set(_keys(response.json()))
            assert not leaked, f"{label} shows an invigilator {sorted(leaked)}"

    return check


def _checks(operation: Any) -> list[Any]:
    """Our two checks everywhere; schemathesis's conformance checks where errors are documented.

    A route documents its bodies and errors with `web.schemas.responses`. One that does
    not (the operations routes, which take no token, and any router still being written)
    is held to the two checks of docs/api.md alone.
    """
    if "401" not in operation.definition.raw.get("responses", {}):
        return [no_server_error, problem_json]
    schema_checks = [
        openapi_checks.status_code_conformance,
        openapi_checks.response_headers_conformance,
        openapi_checks.ignored_auth,
        openapi_checks.unsupported_method,
    ]
    if "multipart/form-data" not in operation.definition.raw.get("requestBody", {}).get(
        "content", {}
    ):
        # Form fields are text, so "schema-invalid" multipart (a title `true`) is often valid.
        schema_checks.append(negative_refused)
    schema_checks += [
        openapi_checks.content_type_conformance,
        openapi_checks.response_schema_conformance,
    ]
    # Not `positive_data_acceptance`: the document cannot say which question ids an exam
    # has or which options a question offers, so a schema-valid save naming an unknown
    # question is rightly refused with 422.
    return [no_server_error, problem_json, *schema_checks]


MARKER_ROUTES = {"GET /api/v1/exams/{exam_id}/scripts", "PUT /api/v1/exams/{exam_id}/marks"}


# Candidate first: the admin's fuzz may close the seeded exam, sealing every attempt.
# A marker's token is fuzzed on the routes it may call (elsewhere it is a plain 403).
@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("role", ["candidate", "invigilator", "marker", "admin"])
def test_fuzz(fuzzed: Fuzzed, role: str, label: str) -> None:
    if role == "marker" and label not in MARKER_ROUTES:
        pytest.skip("a marker token may call only the scripts and marks routes")
    method, path = label.split(" ", 1)
    operation = fuzzed.schema[path][method]
    token = {
        "admin": ADMIN, "marker": fuzzed.tokens["M1"], "invigilator": fuzzed.tokens[INVIGILATOR]
    }.get(role, fuzzed.tokens["R1"])  # fmt: skip
    runs = [
        (
            GenerationMode.POSITIVE,
            operation.as_strategy(GenerationMode.POSITIVE, hooks=fuzzed.steering),
        ),
        (GenerationMode.NEGATIVE, operation.as_strategy(GenerationMode.NEGATIVE)),
    ]
    if "requestBody" in operation.definition.raw and "{attempt_id}" in path:
        # Invalid bodies sent to real attempts, the candidate's own and another's.
        runs.append(
            (
                GenerationMode.NEGATIVE,
                st.one_of(
                    operation.as_strategy(
                        GenerationMode.NEGATIVE, path_parameters={"attempt_id": aid}
                    )
                    for aid in fuzzed.attempts.values()
                ),
            )
        )
    checks = _checks(operation)
    if role == "invigilator" and path.startswith("/api/v1/"):
        checks = [*checks, invigilator_reach(label)]

    # One run per kind of case, each with its own budget: drawn through one `one_of`, the
    # steered schema-valid cases (larger to draw) would come out far less often.
    for mode, cases in runs:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the report has the request
        )
        @given(case=cases)
        def fuzz(case: Any) -> None:
            response = case.call_and_validate(headers=_bearer(token), checks=checks)
            fuzzed.statuses[response.status_code] += 1

        try:
            fuzz()
        except Unsatisfiable:
            # Nothing in this operation can be made schema-invalid (no parameter, no body).
            if mode is not GenerationMode.NEGATIVE:
                raise


def test_answers_acknowledged_before_the_fuzz_are_still_stored(fuzzed: Fuzzed) -> None:
    with asgi.get_client(fuzzed.app) as client:
        for cid, aid in fuzzed.attempts.items():
            r = client.get(f"/api/v1/attempts/{aid}", headers=_bearer(fuzzed.tokens[cid]))
            assert r.status_code == 200, r.text
            answers = r.json()["answers"]
            for qid, expected in fuzzed.stored[cid].items():
                assert answers[qid] == expected, (cid, qid)
        # The figures of this run (shown with `pytest -s`), for docs/security.md.
        print(
            f"fuzz: {sum(fuzzed.statuses.values())} requests, statuses {sorted(fuzzed.statuses.items())}"
        )
        if fuzzed.statuses:  # the fuzz ran in this session: it reached the app
            assert sum(fuzzed.statuses.values()) >= len(LABELS) * 3
