"""Named load scenarios and the exam document each one uses.

A scenario is plain data: how many students, how the exam is shaped, how students
behave and how they finish (submit together, some of them, or never). The runner reads
it; command-line options override single fields through `Scenario.evolve`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

SubmitMode = Literal["all", "mixed", "none"]


@dataclass(frozen=True, slots=True)
class Scenario:
    """What one load run does.

    `submit_mode`: `all` — every student submits, inside a window of `submit_spread`
    seconds starting at the same instant (0 = literally together); `mixed` — every other
    student submits, spread over the working time, the rest leave it to the server's
    auto-submit; `none` — nobody submits and the server must seal every attempt.
    `duration` is the exam's `duration_seconds`; for `all` it is long (students submit
    themselves), for `mixed` and `none` it bounds the run, since the server ends it.
    `work_seconds` is how long students answer before the submit instant.
    `kill_at`: seconds after the submit instant at which the server is SIGKILLed and
    restarted on the same database (`None`: no kill).
    `restart_database_at`: seconds after the submit instant at which the PostgreSQL
    server is restarted under the running examvault server (`None`: no restart).
    `failover_at`: the share (0–1) of the students' submits acknowledged after which the
    PostgreSQL primary is SIGKILLed (`None`: no fail-over); the runner builds a
    throwaway primary and synchronous standby for it (loadtest/failover.py). The
    standby is promoted `promote_after` seconds after the kill (the time a watchdog or
    an operator takes), and never before the server was seen answering 503.
    `start_spread`: the window (seconds) in which the students start; by default up to
    2 s, a quarter of the working time at most. 1.0 is the start of a real exam day:
    everyone presses "start" in the same second.
    `live_per_second`: not a sitting but the `live` benchmark (loadtest/live.py): steady
    autosave on `students` attempts for `work_seconds`, alone and then beside pages
    polling `GET …/live` at this rate in all.
    """

    name: str
    students: int
    questions: int = 10
    duration: int = 3600
    grace: int = 2
    submit_mode: SubmitMode = "all"
    submit_spread: float = 0.0
    work_seconds: float = 5.0
    saves_per_student: int = 6
    revisits: int = 3
    kill_at: float | None = None
    restart_database_at: float | None = None
    failover_at: float | None = None
    promote_after: float = 2.0
    start_spread: float | None = None
    live_per_second: float | None = None
    description: str = ""

    def evolve(self, **changes: Any) -> Scenario:
        """A copy with the given fields changed (`None` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def start_window(self) -> float:
        """Seconds over which the students' starts are spread."""
        if self.start_spread is not None:
            return self.start_spread
        return min(2.0, self.work_seconds / 4)

    @property
    def server_ends_attempts(self) -> bool:
        """True when some attempts are left to the server's auto-submit."""
        return self.submit_mode != "all"


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "concurrent_auto_submit",
            students=50,
            questions=100,
            work_seconds=5,
            description="the incident: 50 page timers fire submit at the same instant",
        ),
        Scenario(
            "mixed_submission_load",
            students=200,
            questions=100,
            duration=40,
            work_seconds=20,
            submit_mode="mixed",
            description="half submit by hand while working, half are auto-submitted",
        ),
        Scenario(
            "stress_test",
            students=500,
            questions=100,
            work_seconds=10,
            submit_spread=1.0,
            description="peak period: 500 students working, then submitting within 1 s",
        ),
        Scenario(
            "stampede_2k",
            students=2_000,
            questions=100,
            submit_spread=1.0,
            work_seconds=60,
            description="2,000 submits within one second",
        ),
        Scenario(
            "stampede_5k",
            students=5_000,
            questions=100,
            submit_spread=1.0,
            work_seconds=120,
            description="5,000 submits within one second",
        ),
        Scenario(
            "stampede_10k",
            students=10_000,
            questions=100,
            start_spread=1.0,
            submit_spread=1.0,
            work_seconds=240,
            description="a real day: 10,000 starts within one second, then 10,000 submits "
            "within one second",
        ),
        Scenario(
            "start_storm_10k",
            students=10_000,
            questions=100,
            start_spread=1.0,
            submit_spread=5.0,
            work_seconds=60,
            saves_per_student=3,
            revisits=1,
            description="10,000 candidates start a 100-question exam in the same second, "
            "answer and submit",
        ),
        Scenario(
            "no_client_submit",
            students=200,
            questions=100,
            duration=30,
            work_seconds=20,
            submit_mode="none",
            description="nobody submits: the server must seal every attempt on time",
        ),
        Scenario(
            "live",
            students=1_000,
            work_seconds=15,
            live_per_second=2_000,
            description="steady autosave on 1,000 attempts, alone and beside pages polling "
            "`live` at 2,000 requests/s (10,000 pages every 5 s): saves/s with and without",
        ),
        Scenario(
            "crash_mid_stampede",
            students=500,
            questions=100,
            work_seconds=8,
            submit_spread=1.0,
            kill_at=0.3,
            description="SIGKILL the server during the submit burst, restart, carry on",
        ),
        Scenario(
            "db_restart_mid_stampede",
            students=500,
            questions=100,
            work_seconds=8,
            submit_spread=1.0,
            restart_database_at=0.3,
            description="restart PostgreSQL during the submit burst; the server recovers",
        ),
        Scenario(
            "failover_mid_stampede",
            students=500,
            questions=100,
            work_seconds=8,
            submit_spread=1.0,
            failover_at=0.25,
            description="lose the PostgreSQL primary during the submit burst, promote its "
            "synchronous standby; the server carries on by itself",
        ),
    )
}


def exam_document(exam_id: str, questions: int, duration: int, grace: int) -> dict[str, Any]:
    """An exam of `questions` questions cycling single / multiple / numeric, two sections.

    Keys are fixed (single: B, multiple: A+C, numeric: 2.45..2.55) so that students'
    random answers give a mix of correct, partial and wrong outcomes, and marking uses
    presets with negative and fractional marks so that scoring is exercised for real.
    """
    items: list[dict[str, Any]] = []
    for i in range(questions):
        kind = ("single", "multiple", "numeric")[i % 3]
        q: dict[str, Any] = {"id": f"q{i:03d}", "type": kind, "text": f"Question {i} ({kind})"}
        if kind == "single":
            q |= {
                "options": _options(),
                "answer": "B",
                "marking": "gate_mcq_2" if i % 2 else "plus4_minus1",
            }
        elif kind == "multiple":
            q |= {"options": _options(), "answer": ["A", "C"], "marking": "jee_advanced_multi"}
        else:
            q |= {"answer": {"min": 2.45, "max": 2.55}, "marking": "gate_nat_2"}
        items.append(q)
    half = max(1, len(items) // 2)
    sections = [{"id": "part-a", "title": "Part A", "questions": items[:half]}]
    if items[half:]:
        sections.append({"id": "part-b", "title": "Part B", "questions": items[half:]})
    return {
        "id": exam_id,
        "title": f"Load test {exam_id}",
        "duration_seconds": duration,
        "grace_seconds": grace,
        "show_result": "on_submit",
        "sections": sections,
    }


def _options() -> list[dict[str, str]]:
    return [{"id": o, "text": f"option {o}"} for o in "ABCD"]
