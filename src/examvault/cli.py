"""The `examvault` command: serve, import, register, report. No logic lives here.

This is the one module that reads the environment (through `Settings`), and it hands
the settings to everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gc
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from examvault import logs
from examvault.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
T = TypeVar("T")

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database", help="sqlite:///path.db or postgresql://user@host:port/db"),
]


def _settings(database: str | None = None, **overrides: Any) -> Settings:
    """The settings, or a plain message naming each setting that is wrong (no traceback:
    an operator's typo is not a crash)."""
    if database:
        overrides["database_url"] = database
    try:
        return Settings(**overrides)
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"])
            name = f"EXAMVAULT_{where.upper()}: " if where else ""
            typer.echo(f"examvault: {name}{problem['msg']}", err=True)
        raise typer.Exit(2) from None


def _with_core(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(core)` against the database, without the sweeper or job worker."""
    from examvault.core import Core
    from examvault.store.migrate import upgrade

    async def main() -> T:
        await asyncio.to_thread(upgrade, settings.database())
        core = Core.create(settings)
        await core.start(background=False)
        try:
            return await work(core)
        finally:
            await core.stop()

    return asyncio.run(main())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    database: DatabaseOpt = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo exam and candidates")] = False,
    workers: Annotated[int, typer.Option(help="Server processes (uvicorn workers)")] = 1,
) -> None:
    """Run the HTTP server (the schema is created or migrated first)."""
    import uvicorn

    from examvault.store.migrate import upgrade
    from examvault.web.http import HttpProtocol

    settings = _settings(database)
    logs.setup(settings.log_level)
    if workers > 1 and settings.on_sqlite():
        # One writer per database file: a second process would wait for SQLite's lock
        # with its request loop held (the writer runs on it, store/writer.py).
        raise typer.BadParameter(
            "SQLite is served by one process; use PostgreSQL for several", param_hint="--workers"
        )
    upgrade(settings.database())
    token, generated = settings.resolved_admin_token()
    if demo:
        _load_demo(settings)
    typer.echo(f"examvault on http://{host}:{port}/  (database: {_safe(settings.database())})")
    if generated:
        typer.echo(f"admin token: {token}   (stored in {settings.data_dir / 'admin-token'})")
    typer.echo(f"invigilator page: http://{host}:{port}/admin")
    # Worker processes rebuild the settings from the environment: pass ours along.
    os.environ["EXAMVAULT_DATABASE_URL"] = settings.database()
    os.environ["EXAMVAULT_ADMIN_TOKEN"] = token
    uvicorn.run(
        "examvault.cli:asgi_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http=HttpProtocol,  # uvicorn's httptools protocol, each response in one send
        access_log=False,  # ours (web/app.py) never logs a query string, which may hold a token
        # X-Forwarded-For/-Proto only from the proxies we are told of (none by default)
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        timeout_keep_alive=settings.keep_alive_seconds,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )


def asgi_app() -> Any:
    """The app factory uvicorn calls in each worker process."""
    from examvault.web.app import create_app

    settings = Settings()
    logs.setup(settings.log_level)
    app = create_app(settings)
    tune_gc()
    return app


def tune_gc() -> None:
    """Fewer garbage collections in a server process.

    A request allocates a few hundred objects and frees nearly all of them by reference
    counting, yet CPython's default (a collection every 700 net allocations) ran ~50 of
    them per 1,000 saves, and every few hundred a full one over the 150,000 objects of
    a started server (modules, schemas, compiled exams, token caches): measured
    in-process, 27–32 µs of a 145 µs save. Collections every 10,000 net allocations, and
    what was built at start-up moved out of the collector's sight (`gc.freeze`), bring
    it to ~2 µs (docs/performance.md, "The request path on one core").
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def _need_load_extra(*modules: str) -> None:
    """Stop with a clear message when a command's optional dependencies are missing."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        typer.echo(
            f"error: this command needs {', '.join(missing)}: pip install 'examvault[load]'",
            err=True,
        )
        raise typer.Exit(2)


def _safe(url: str) -> str:
    from examvault.store.engine import parse_url

    return parse_url(url).render_as_string(hide_password=True)


def _load_demo(settings: Settings) -> None:
    from examvault.domain.demo import DEMO_CANDIDATES, DEMO_ID, demo_exam, demo_media
    from examvault.domain.exams import parse_definition
    from examvault.errors import AlreadyRegistered

    tokens_file = settings.data_dir / "demo-candidates.csv"

    async def work(core: Any) -> list[dict[str, str]]:
        for name, (content_type, data) in demo_media().items():
            await core.media.put(DEMO_ID, name, content_type, data, "demo")
        await core.exams.put(parse_definition(demo_exam()), "demo")
        try:
            return list(await core.directory.register(DEMO_ID, DEMO_CANDIDATES, "demo"))
        except AlreadyRegistered:
            return []

    issued = _with_core(settings, work)
    if issued:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        tokens_file.touch(mode=0o600)
        with tokens_file.open("w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["id", "name", "token"])
            names = dict(DEMO_CANDIDATES)
            for c in issued:
                writer.writerow([c["id"], names[c["id"]], c["token"]])
    if tokens_file.exists():
        typer.echo(f"demo exam {DEMO_ID!r} — sign in as a candidate with one of these tokens:")
        with tokens_file.open() as fh:
            for row in csv.DictReader(fh):
                typer.echo(f"  {row['id']}  {row['name']:<12}  {row['token']}")


@app.command("import")
def import_exam(
    exam_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    format: Annotated[
        str, typer.Option("--format", help="auto, json, yaml, qti, gift, moodle_xml")
    ] = "auto",
    exam_id: Annotated[str | None, typer.Option("--id", help="The exam id to use")] = None,
    duration: Annotated[int | None, typer.Option("--duration", help="duration_seconds")] = None,
    skip_unsupported: Annotated[bool, typer.Option("--skip-unsupported")] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="List what each item would become; store nothing"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --dry-run: the report as JSON")] = (
        False
    ),
    database: DatabaseOpt = None,
) -> None:
    """Create or replace an exam from a file: our YAML/JSON (or its zip with media), QTI, GIFT
    or Moodle XML. The pictures the file holds are stored with the exam, all or nothing.

    --dry-run exits 0 when the import would store the exam, 1 when it would be refused;
    a file that cannot be read at all exits 2, as the import does.
    """
    from examvault.domain.exams import parse_definition
    from examvault.errors import ExamvaultError
    from examvault.formats import ImportRefused, preview_import
    from examvault.formats import import_exam as read_exam

    arguments: dict[str, Any] = {
        "filename": exam_file.name,
        "fmt": format,
        "exam_id": exam_id,
        "settings": {"duration_seconds": duration} if duration else None,
        "skip_unsupported": skip_unsupported,
    }
    try:
        with _progress() as report:
            reading = _throttled(lambda done, total: report("reading items", done, total))
            data = exam_file.read_bytes()
            if dry_run:
                preview = preview_import(data, progress=reading, **arguments)
            else:
                imported = read_exam(data, progress=reading, **arguments)
                report("checking the exam", 0, 0)
                definition = parse_definition(imported.definition)
                report("storing the exam", 0, 0)
                media = [(m.name, m.content_type, m.data) for m in imported.media]
                status, body = _with_core(
                    _settings(database),
                    lambda core: core.exams.put_imported(
                        definition, media, "cli", core.media.exam_limit
                    ),
                )
    except ImportRefused as exc:
        for e in exc.errors:
            typer.echo(f"{' / '.join(map(str, e['loc']))}: {e['msg']}", err=True)
        typer.echo("nothing was imported", err=True)
        raise typer.Exit(2) from None
    except ExamvaultError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    if dry_run:
        _show_preview(preview.as_json(), as_json)
        raise typer.Exit(0 if preview.importable else 1)
    for skipped in imported.skipped:
        typer.echo(f"skipped {skipped.item}: {skipped.reason}", err=True)
    for note in imported.notes:
        typer.echo(f"note: {note}", err=True)
    verb = "unchanged" if status == 200 else "stored"
    questions = sum(len(s["questions"]) for s in imported.definition["sections"])
    pictures = f", {len(media)} pictures" if media else ""
    typer.echo(
        f"exam {body['id']!r} {verb}, version {body['version']}, {questions} questions{pictures}"
    )


def _throttled(report: Callable[[int, int], None]) -> Callable[[int, int], None]:
    """``report`` called about 200 times over a run, not once per item of a huge file."""
    last = [-1]

    def tick(done: int, total: int) -> None:
        if done == total or done - last[0] >= max(1, total // 200):
            last[0] = done
            report(done, total)

    return tick


def _show_preview(preview: dict[str, Any], as_json: bool) -> None:
    """A dry run's report: one line per item, then what the import would do."""
    import json

    if as_json:
        typer.echo(json.dumps(preview, indent=2, default=str))
        return
    typer.echo(f"exam {preview['id']!r}: {preview['title']}")
    for item in preview["items"]:
        if "refused" in item:
            typer.echo(f"  {item['id']}  REFUSED ({item['source']}): {item['refused']}")
            continue
        marks = ", ".join(f"{k} {v}" for k, v in item["marking"].items())
        media = f"  media: {', '.join(item['media'])}" if item["media"] else ""
        typer.echo(f"  {item['id']}  {item['type']}  [{marks}]  section {item['section']}{media}")
    for note in preview["notes"]:
        typer.echo(f"note: {note}")
    if preview["importable"]:
        verb = f"would store {preview['questions']} questions in {preview['sections']} sections"
        left = len(preview["skipped"])
        typer.echo(f"dry run: {verb}" + (f", leaving out {left} items" if left else ""))
    else:
        refused = {item["id"] for item in preview["items"] if "refused" in item}
        for e in preview["errors"]:  # the items are listed above; the rest is said here
            if not e["loc"] or e["loc"][0] not in refused:
                typer.echo(f"{' / '.join(map(str, e['loc']))}: {e['msg']}", err=True)
        typer.echo("dry run: the import would be refused (nothing is stored either way)")


@app.command()
def export(
    exam_id: str,
    format: Annotated[
        str, typer.Option("--format", help="json, yaml, qti, gift or moodle_xml")
    ] = "json",
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: its suggested name)")
    ] = None,
    database: DatabaseOpt = None,
) -> None:
    """Write an exam out as a file another tool can read, with its pictures (QTI and
    JSON/YAML of an exam with pictures are zips; Moodle XML holds them as base64)."""
    from examvault.errors import ExamvaultError
    from examvault.formats import export_exam

    async def read(core: Any) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        doc, _, _ = await core.exams.stored_definition(exam_id)
        return doc, await core.media.of_exam(exam_id)

    try:
        doc, pictures = _with_core(_settings(database), read)
        content, _media, name = export_exam(doc, format, pictures)
    except (ExamvaultError, ValueError) as exc:
        typer.echo(f"error: {getattr(exc, 'detail', exc)}", err=True)
        raise typer.Exit(2) from None
    target = out or Path(name)
    target.write_bytes(content)
    typer.echo(f"wrote {target}")


@app.command()
def register(
    exam_id: str,
    candidates_csv: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    out: Annotated[
        Path | None, typer.Option(help="Write the tokens here (default: stdout)")
    ] = None,
    database: DatabaseOpt = None,
) -> None:
    """Register candidates from a CSV (id,name) and write their tokens out as CSV."""
    from examvault.errors import ExamvaultError
    from examvault.services.candidates import parse_registration

    with candidates_csv.open(newline="") as fh:
        rows = [r for r in csv.reader(fh) if r and r[0].strip()]
    if rows and rows[0][0].strip().lower() in ("id", "candidate_id"):
        rows = rows[1:]
    body = {
        "candidates": [
            {"id": r[0].strip(), "name": (r[1].strip() if len(r) > 1 else "")} for r in rows
        ]
    }
    settings = _settings(database)
    try:
        people = parse_registration(body)
        issued = _with_core(settings, lambda core: core.directory.register(exam_id, people, "cli"))
    except ExamvaultError as exc:
        typer.echo(f"error: {exc.detail} {exc.extra or ''}", err=True)
        raise typer.Exit(2) from None
    fh_out = out.open("w", newline="") if out else sys.stdout
    writer = csv.writer(fh_out, lineterminator="\n")
    writer.writerow(["id", "token"])
    for c in issued:
        writer.writerow([c["id"], c["token"]])
    if out:
        fh_out.close()
        typer.echo(f"{len(issued)} candidates registered; tokens in {out}", err=True)


@app.command()
def report(
    exam_id: str,
    out: Annotated[Path, typer.Option("--out", help="Directory for the files and pictures")],
    database: DatabaseOpt = None,
) -> None:
    """Write an exam's analytics as files: analytics.json, items.csv, results.csv, PNGs."""
    _need_load_extra("rich", "matplotlib")
    from examvault.analytics_files import write_report
    from examvault.errors import ExamvaultError

    try:
        written = _with_core(
            _settings(database),
            lambda core: write_report(core.analytics, core.results, exam_id, out),
        )
    except ExamvaultError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    for path in written:
        typer.echo(f"wrote {path}")


@app.command()
def backup(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="The backup file to write")],
    database: DatabaseOpt = None,
) -> None:
    """Write a consistent backup of the database, while the server runs (file mode 0600)."""
    from examvault.store.backup import BackupError
    from examvault.store.backup import backup as run_backup

    try:
        with _progress() as report:
            summary = run_backup(_settings(database).database(), out, progress=report)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(summary.line())


@app.command()
def restore(
    backup_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, metavar="FILE")],
    database: DatabaseOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds data")
    ] = False,
) -> None:
    """Restore a backup into a new or empty database, then migrate it to the latest schema."""
    from examvault.store.backup import BackupError
    from examvault.store.backup import restore as run_restore

    try:
        with _progress() as report:
            summary = run_restore(
                backup_file, _settings(database).database(), force=force, progress=report
            )
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(summary.line())


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on stderr (nothing when it is not a terminal): report(what, done, total)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def report(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total or None)
            if not total:  # a step of unknown length: a pulsing bar (update keeps a total)
                next(t for t in bar.tasks if t.id == task).total = None

        yield report


@app.command()
def loadtest(
    scenario: Annotated[str, typer.Argument(help="Scenario name (see docs/performance.md)")] = (
        "concurrent_auto_submit"
    ),
    students: Annotated[int | None, typer.Option(help="Override the number of students")] = None,
    questions: Annotated[int | None, typer.Option(help="Override the number of questions")] = None,
    duration: Annotated[int | None, typer.Option(help="Override the exam duration (s)")] = None,
    work_seconds: Annotated[
        float | None, typer.Option(help="Override the answering time before submits (s)")
    ] = None,
    database: DatabaseOpt = None,
    url: Annotated[str | None, typer.Option(help="A running server on 127.0.0.1")] = None,
    admin_token: Annotated[str | None, typer.Option(help="Its admin token (with --url)")] = None,
    kill_server_at: Annotated[
        float | None, typer.Option(help="SIGKILL and restart the server T s into the submits")
    ] = None,
    restart_database_at: Annotated[
        float | None,
        typer.Option(help="Restart the local PostgreSQL T s into the submits"),
    ] = None,
    failover_at: Annotated[
        float | None,
        typer.Option(
            help="Fail-over drill: build a PostgreSQL primary + synchronous standby, SIGKILL "
            "the primary once this share (0-1) of the submits is acknowledged, promote"
        ),
    ] = None,
    promote_after: Annotated[
        float | None, typer.Option(help="Seconds from the primary's death to the promotion")
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for the JSON and the PNG")] = Path(
        "loadtest-out"
    ),
    target: Annotated[str, typer.Option(help="examvault or baseline")] = "examvault",
    connections: Annotated[int, typer.Option(help="Client connection pool size")] = 1000,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
    pollers: Annotated[
        str, typer.Option(help="live: wrk (when installed, else python) or python")
    ] = "wrk",
) -> None:
    """Simulate students against a server, then verify that no answer was lost."""
    _need_load_extra("aiohttp", "psutil", "rich", "matplotlib")
    from examvault.loadtest.runner import Options, run

    if target not in ("examvault", "baseline"):
        raise typer.BadParameter("--target is examvault or baseline")
    if pollers not in ("wrk", "python"):
        raise typer.BadParameter("--pollers is wrk or python")
    try:
        summary = run(
            Options(
                scenario=scenario, students=students, questions=questions, duration=duration,
                work_seconds=work_seconds,
                database=database, url=url, admin_token=admin_token, kill_server_at=kill_server_at,
                restart_database_at=restart_database_at,
                failover_at=failover_at, promote_after=promote_after,
                out=out, target=target, connections=connections, progress=progress,  # type: ignore[arg-type]
                pollers=pollers,  # type: ignore[arg-type]
            )
        )  # fmt: skip
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    verdict = summary["verdict"]
    if verdict["lost"] or any(
        verdict.get(k)
        for k in ("submissions_failed", "score_mismatch", "saves_failed", "live_failed")
    ):
        raise typer.Exit(1)


def main() -> None:
    app()
