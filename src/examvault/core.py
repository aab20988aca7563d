"""The composition root: the server's parts, built once per process and wired together.

Only the CLI and the web app (web/app.py) import this module. Every part below takes
the few parts it uses, never this object: the services know nothing of the jobs that
run them or of the web that calls them (pyproject.toml's import-linter contracts).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field

from examvault.clock import Clock, SystemClock
from examvault.jobs.handlers.analytics import AnalyticsJob
from examvault.jobs.handlers.ranks import Ranks
from examvault.jobs.handlers.regrade import Regrade
from examvault.jobs.queue import Handler
from examvault.jobs.runner import Worker
from examvault.metrics import Metrics
from examvault.services.analytics import Analytics
from examvault.services.attempts import Attempts
from examvault.services.candidates import Directory
from examvault.services.catalog import Catalog
from examvault.services.examday import ExamDay
from examvault.services.exams import Exams
from examvault.services.imports import Sandbox
from examvault.services.invigilators import Invigilators
from examvault.services.journal import Journal
from examvault.services.keys import Keys
from examvault.services.markers import Markers
from examvault.services.marks import Marks
from examvault.services.media import Media
from examvault.services.queue import JobQueue
from examvault.services.results import Results
from examvault.services.sweeper import Sweeper
from examvault.services.writes import Writes
from examvault.settings import Settings
from examvault.store.engine import Store, open_store


@dataclass
class Core:
    """The parts of one server process, and their start and stop."""

    settings: Settings
    store: Store
    clock: Clock
    metrics: Metrics
    catalog: Catalog
    queue: JobQueue
    writes: Writes
    directory: Directory
    invigilators: Invigilators
    examday: ExamDay
    markers: Markers
    marks: Marks
    attempts: Attempts
    exams: Exams
    media: Media
    imports: Sandbox
    keys: Keys
    results: Results
    analytics: Analytics
    sweeper: Sweeper
    worker: Worker
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> Core:
        """Build every part on the database of these settings (nothing runs yet)."""
        clock = clock or SystemClock()
        store = open_store(settings.database())
        metrics = Metrics()
        catalog = Catalog()
        queue = JobQueue(clock)
        # This process's row of the save counters: processes never contend on one row.
        shard = secrets.randbelow(1 << 15)
        writes = Writes(store, settings, metrics, Journal(clock, catalog, queue, shard))
        exams = Exams(store, writes, clock, queue, metrics)
        media = Media(store, writes, clock, settings.media_exam_bytes)
        analytics = Analytics(store, writes, catalog, clock)
        ranks = Ranks(store, catalog)
        handlers: dict[str, Handler] = {
            "ranks": ranks,
            "regrade": Regrade(store, writes, catalog, queue, ranks),
            "analytics": AnalyticsJob(analytics),
        }
        return cls(
            settings=settings,
            store=store,
            clock=clock,
            metrics=metrics,
            catalog=catalog,
            queue=queue,
            writes=writes,
            directory=Directory(store, writes, clock),
            invigilators=Invigilators(store, writes, clock),
            examday=ExamDay(store, writes, catalog, clock, metrics),
            markers=Markers(store, writes, catalog, clock),
            marks=Marks(store, writes, catalog, clock, queue),
            attempts=Attempts(
                store, writes, catalog, clock, max_items_per_save=settings.max_items_per_save
            ),
            exams=exams,
            media=media,
            imports=Sandbox(
                settings.import_cpu_seconds,
                settings.import_memory_bytes,
                settings.import_concurrency,
            ),
            keys=Keys(store, writes, catalog, clock, queue),
            results=Results(store, catalog, clock, metrics),
            analytics=analytics,
            sweeper=Sweeper(store, writes, exams, clock, metrics, settings.sweep_interval_seconds),
            worker=Worker(
                handlers,
                writes=writes,
                queue=queue,
                clock=clock,
                metrics=metrics,
                settings=settings,
            ),
        )

    async def start(self, *, background: bool = True) -> None:
        """Start the writer and, unless told not to, the sweeper and the job worker."""
        self.writes.start()
        if background:
            sweep = self.sweeper.run_forever(self.stopping)
            self._tasks.append(asyncio.create_task(sweep, name="sweeper"))
            if self.settings.run_workers:
                work = self.worker.run_forever(self.stopping)
                self._tasks.append(asyncio.create_task(work, name="jobs"))

    async def stop(self) -> None:
        """Let the sweeper and the job worker finish the statement they are in (a task
        cancelled mid-query leaves its connection half-used), then stop the writer."""
        self.stopping.set()
        self.queue.poke()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=5)
            for task in late:  # a long job: it is leased, and rerun after a restart
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks.clear()
        # Reads begun in the background by requests (a group of tokens, a batch of polls)
        # end before the engines go, so that none is dropped holding a connection.
        await self.directory.settle()
        await self.examday.settle()
        await self.writes.stop()
        await self.store.dispose()
