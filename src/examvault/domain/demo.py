"""The demo exam: three sections, 90 questions, every question type and marking rule.

It exists so that a newcomer can take an exam a minute after cloning. Questions are
generated from small templates with keys computed alongside, so every key is right;
the same seed always gives the same exam.
"""

from __future__ import annotations

import random
import re
from decimal import Decimal
from typing import Any

from examvault.domain import diagrams

DEMO_ID = "demo"
INCLINE = "incline.png"


def demo_media() -> dict[str, tuple[str, bytes]]:
    """The demo's pictures by name: (content type, bytes); uploaded before the exam."""
    return {INCLINE: ("image/png", diagrams.incline())}


_PHYSICS = [
    ("SI unit of force?", ["newton", "joule", "watt", "pascal"], "newton"),
    ("SI unit of energy?", ["joule", "newton", "volt", "tesla"], "joule"),
    ("SI unit of power?", ["watt", "joule", "ampere", "ohm"], "watt"),
    ("SI unit of pressure?", ["pascal", "newton", "bar", "kelvin"], "pascal"),
    ("SI unit of electric charge?", ["coulomb", "ampere", "volt", "farad"], "coulomb"),
    ("SI unit of magnetic flux density?", ["tesla", "weber", "henry", "gauss"], "tesla"),
    ("SI unit of frequency?", ["hertz", "second", "radian", "becquerel"], "hertz"),
    ("SI unit of resistance?", ["ohm", "siemens", "volt", "watt"], "ohm"),
]
_VECTORS = ["force", "velocity", "momentum", "acceleration", "displacement"]
_SCALARS = ["mass", "energy", "temperature", "time", "speed"]


def _options(texts: list[str], rng: random.Random) -> list[dict[str, str]]:
    rng.shuffle(texts)
    return [{"id": "ABCD"[i], "text": t} for i, t in enumerate(texts)]


def _single(
    qid: str, text: str, choices: list[str], key: str, marking: Any, rng: random.Random
) -> dict[str, Any]:
    options = _options(list(choices), rng)
    answer = next(o["id"] for o in options if o["text"] == key)
    return {
        "id": qid,
        "type": "single",
        "text": text,
        "options": options,
        "answer": answer,
        "marking": marking,
    }


def _arith_single(
    qid: str, marking: Any, rng: random.Random, accept_two: bool = False
) -> dict[str, Any]:
    a, b = rng.randint(11, 49), rng.randint(3, 19)
    right = a * b
    wrong = {right + d for d in (-b, b, 10, -10, 1)} - {right}
    choices = [str(right), *map(str, rng.sample(sorted(wrong), 3))]
    q = _single(qid, f"What is {a} × {b}?", choices, str(right), marking, rng)
    if accept_two:
        # A challenged question: the examiners accept the answer and its neighbour.
        q["answer"] = [q["answer"], next(o["id"] for o in q["options"] if o["id"] != q["answer"])]
        q["text"] += " (two options are accepted)"
    return q


def _vectors(qid: str, marking: Any, rng: random.Random) -> dict[str, Any]:
    n_right = rng.randint(1, 3)
    right = rng.sample(_VECTORS, n_right)
    texts = right + rng.sample(_SCALARS, 4 - n_right)
    options = _options(texts, rng)
    return {
        "id": qid,
        "type": "multiple",
        "text": "Which of these quantities are vectors? (choose all that apply)",
        "options": options,
        "answer": sorted(o["id"] for o in options if o["text"] in right),
        "marking": marking,
    }


def _divisors(qid: str, marking: Any, rng: random.Random) -> dict[str, Any]:
    n = rng.choice([12, 18, 20, 24, 30, 36])
    cands = rng.sample([d for d in range(2, 13)], 4)
    if not any(n % d == 0 for d in cands):
        cands[0] = 2
    options = [{"id": "ABCD"[i], "text": str(d)} for i, d in enumerate(cands)]
    return {
        "id": qid,
        "type": "multiple",
        "text": f"Which of these divide {n} exactly?",
        "options": options,
        "answer": [o["id"] for o in options if n % int(o["text"]) == 0],
        "marking": marking,
    }


def _numeric(qid: str, marking: Any, rng: random.Random, form: str) -> dict[str, Any]:
    if form == "range":
        v = rng.randint(2, 30)
        low, high = Decimal(f"{v**0.5 - 0.01:.2f}"), Decimal(f"{v**0.5 + 0.01:.2f}")
        return {"id": qid, "type": "numeric", "text": f"Square root of {v}, to two decimal places?",
                "answer": {"min": low, "max": high}, "marking": marking}  # fmt: skip
    if form == "tolerance":
        m, a = rng.randint(2, 9), rng.randint(2, 9)
        return {"id": qid, "type": "numeric",
                "text": f"A {m} kg mass accelerates at {a} m/s². The force in newtons? (±0.5)",
                "answer": {"value": m * a, "tolerance": Decimal("0.5")},
                "marking": marking}  # fmt: skip
    a, b = rng.randint(100, 999), rng.randint(100, 999)
    return {"id": qid, "type": "numeric", "text": f"What is {a} + {b}?",
            "answer": {"value": a + b}, "marking": marking}  # fmt: skip


def demo_exam(seed: int = 7) -> dict[str, Any]:
    """The demo definition (docs/api.md's document), the same for a given seed."""
    rng = random.Random(seed)
    physics: list[dict[str, Any]] = []
    for i in range(30):
        qid = f"phy{i + 1:02d}"
        if i < 12:
            text, choices, key = _PHYSICS[i % len(_PHYSICS)]
            physics.append(_single(qid, text, choices, key, "plus4_minus1", rng))
        elif i < 20:
            physics.append(_vectors(qid, "jee_advanced_multi", rng))
        elif i < 25:
            physics.append(_numeric(qid, "plus4", rng, "tolerance"))
        else:
            physics.append(_vectors(qid, {"correct": 4, "wrong": -1, "partial": "none"}, rng))
    chemistry: list[dict[str, Any]] = []
    for i in range(30):
        qid = f"chem{i + 1:02d}"
        if i < 8:
            chemistry.append(_arith_single(qid, "gate_mcq_1", rng))
        elif i < 14:
            chemistry.append(_arith_single(qid, "gate_mcq_2", rng))
        elif i < 18:
            chemistry.append(_divisors(qid, "gate_msq_1" if i % 2 else "gate_msq_2", rng))
        elif i < 24:
            chemistry.append(_numeric(qid, "gate_nat_1" if i % 2 else "gate_nat_2", rng, "range"))
        elif i < 26:
            chemistry.append(_arith_single(qid, "gate_mcq_1", rng, accept_two=True))
        else:
            chemistry.append(
                _divisors(
                    qid,
                    {
                        "correct": 2,
                        "wrong": -1,
                        "partial": "jee_advanced",
                        "partial_per_option": "1/2",
                    },
                    rng,
                )
            )
    maths: list[dict[str, Any]] = []
    for i in range(30):
        qid = f"math{i + 1:02d}"
        if i < 12:
            maths.append(_arith_single(qid, "cat_mcq", rng))
        elif i < 20:
            maths.append(_numeric(qid, "cat_tita", rng, "exact"))
        elif i < 26:
            maths.append(
                _divisors(qid, {"correct": 3, "wrong": -1, "partial": "proportional"}, rng)
            )
        else:
            maths.append(
                _arith_single(qid, {"correct": 2, "wrong": "-2/3", "unanswered": "-1/4"}, rng)
            )
    _rich(physics, chemistry)
    return {
        "id": DEMO_ID,
        "title": "Demo mock test",
        "duration_seconds": 3600,
        "grace_seconds": 30,
        "show_result": "on_submit",
        "shuffle": {"questions": False, "options": True},
        "instructions": "Answers are saved as you go. You can change them until the time is up.",
        "sections": [
            {"id": "physics", "title": "Physics", "questions": physics},
            {"id": "chemistry", "title": "Chemistry", "questions": chemistry},
            {"id": "mathematics", "title": "Mathematics", "questions": maths},
        ],
    }


def _rich(physics: list[dict[str, Any]], chemistry: list[dict[str, Any]]) -> None:
    """Three questions shown with a diagram, a formula and a table (docs/exam-format.md,
    Rich text); their keys and options are those generated above."""
    physics[0]["text"] = {
        "html": "<p>A block rests on a rough plane inclined at \\(\\theta = 30^\\circ\\). "
        "Gravity pulls it with a force \\(F = m g\\).</p>"
        f'<img src="media:{INCLINE}" alt="A grey block resting on a plane inclined at 30 '
        'degrees" width="240" height="150"><p>What is the SI unit of force?</p>'
    }
    tolerance = physics[20]
    tolerance["text"] = {
        "html": f"<p>Newton's second law: \\[F = m\\,a\\]</p><p>{tolerance['text']}</p>".replace(
            "m/s²", "\\(\\mathrm{m}/\\mathrm{s}^2\\)"
        )
    }
    product = chemistry[0]
    found = re.fullmatch(r"What is (\d+) × (\d+)\?", product["text"])
    assert found is not None
    a, b = found.groups()
    product["text"] = {
        "html": "<p>A sample holds the moles and the molecules per mole below. "
        "How many molecules is that, \\(n \\times N\\)?</p>"
        "<table><caption>The sample</caption><thead><tr><th>Quantity</th><th>Value</th></tr>"
        f"</thead><tbody><tr><td>\\(n\\), moles</td><td>{a}</td></tr>"
        f"<tr><td>\\(N\\), molecules per mole</td><td>{b}</td></tr></tbody></table>"
    }


DEMO_CANDIDATES = [
    ("demo-01", "Asha Verma"),
    ("demo-02", "Rahul Iyer"),
    ("demo-03", "Meera Nair"),
    ("demo-04", "Kabir Singh"),
]
