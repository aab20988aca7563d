"""`examvault report`: the analytics of one exam written out as files for examiners.

The same figures as `GET /exams/{id}/analytics` (computed fresh by `Analytics.compute`, so
a report never shows a stale document), plus the results table, as files a spreadsheet
or a reviewer can open without the server: analytics.json, items.csv, results.csv and
three pictures (PNG, matplotlib's Agg backend, no display needed). Pictures are drawn on
`Figure` objects, never through pyplot's global state, so nothing leaks between calls.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from examvault.domain.results import results_csv
from examvault.services.analytics import Analytics
from examvault.services.results import Results

if TYPE_CHECKING:
    from matplotlib.figure import Figure


ITEM_COLUMNS = (
    "id", "section", "dropped", "facility", "discrimination", "point_biserial",
    "correct", "partial", "wrong", "unanswered", "median_time_ms", "options", "flags", "n",
)  # fmt: skip


async def write_report(
    analytics: Analytics, results: Results, exam_id: str, out: Path, *, progress: bool = True
) -> list[Path]:
    """Compute the analytics of one exam and write every report file into `out`."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("computing analytics", total=3)
        document, _ = await analytics.compute(exam_id)
        bar.update(task, advance=1, description="reading results")
        exam, rows = await results.table(exam_id)
        bar.update(task, advance=1, description="writing files and pictures")
        sections = [s.id for s in exam.sections]
        written = await asyncio.to_thread(_write_all, out, document, exam, rows, sections)
        bar.update(task, advance=1)
    return written


def _write_all(
    out: Path, document: dict[str, Any], exam: Any, rows: list[dict[str, Any]], sids: list[str]
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "analytics.json": orjson.dumps(document, option=orjson.OPT_INDENT_2),
        "items.csv": items_csv(document["questions"]).encode(),
        "results.csv": results_csv(exam, rows).encode(),
    }
    written = []
    for name, content in files.items():
        (out / name).write_bytes(content)
        written.append(out / name)
    submitted = [r for r in rows if r["status"] == "submitted"]
    pictures = {
        "histogram.png": histogram_figure(document),
        "sections.png": sections_figure(sids, submitted),
        "difficulty_discrimination.png": items_figure(document["questions"]),
    }
    for name, figure in pictures.items():
        figure.savefig(out / name, dpi=110)
        written.append(out / name)
    return written


def items_csv(questions: Sequence[dict[str, Any]]) -> str:
    """One row per question: the item analysis, options as `A=12;B=3`, flags `;`-joined."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ITEM_COLUMNS)
    for q in questions:
        outcomes = q["outcomes"] or {}
        options = q["options"] or {}
        values = [
            q["id"], q["section"], "true" if q.get("dropped") else "", q["facility"],
            q["discrimination"], q["point_biserial"],
            *(outcomes.get(o) for o in ("correct", "partial", "wrong", "unanswered")),
            q["median_time_ms"], ";".join(f"{k}={v}" for k, v in options.items()),
            ";".join(sorted(q["flags"])), q.get("n"),
        ]  # fmt: skip
        writer.writerow(["" if v is None else v for v in values])
    return buf.getvalue()


def _figure(width: float = 7.0, height: float = 4.0) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def histogram_figure(document: dict[str, Any]) -> Figure:
    """The score distribution with the document's own bins ([from, to))."""
    figure = _figure()
    ax = figure.add_subplot()
    bins = document["score"]["histogram"]
    if bins:
        ax.bar(
            [b["from"] for b in bins],
            [b["count"] for b in bins],
            width=[b["to"] - b["from"] for b in bins],
            align="edge",
            edgecolor="white",
        )
    ax.set_title(f"Score distribution ({document['submitted']} submitted)")
    ax.set_xlabel("Score")
    ax.set_ylabel("Attempts")
    return figure


def sections_figure(sids: Sequence[str], submitted: Sequence[dict[str, Any]]) -> Figure:
    """Each section's scores as a box plot, side by side."""
    figure = _figure()
    ax = figure.add_subplot()
    data = [[float(r["sections"][sid]) for r in submitted] for sid in sids]
    if submitted and sids:
        ax.boxplot(data, tick_labels=list(sids))
    ax.set_title("Scores by section")
    ax.set_ylabel("Score")
    return figure


def items_figure(questions: Sequence[dict[str, Any]]) -> Figure:
    """Facility (difficulty) against discrimination, one point per question; flagged in red."""
    figure = _figure()
    ax = figure.add_subplot()
    # A pool question given to too few attempts for both groups has no discrimination.
    shown = [q for q in questions if q["facility"] is not None and q["discrimination"] is not None]
    for flagged, colour in ((False, "tab:blue"), (True, "tab:red")):
        points = [q for q in shown if bool(q["flags"]) == flagged]
        ax.scatter(
            [q["facility"] for q in points],
            [q["discrimination"] for q in points],
            c=colour,
            label="flagged" if flagged else "not flagged",
        )
        for q in points if flagged else ():
            ax.annotate(q["id"], (q["facility"], q["discrimination"]), fontsize=8)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("Facility (share correct)")
    ax.set_ylabel("Discrimination (upper − lower 27 %)")
    ax.set_title("Difficulty against discrimination")
    if shown:
        ax.legend(loc="lower right")
    return figure
