"""What a route may use of the server: the services, by their interfaces.

The app (web/app.py) puts the composition root (core.py) on `app.state.server`; routes
see it through this protocol, so that no route imports the root that builds it (the
import rules in pyproject.toml) and a route's reach is written down in one place.
"""

from __future__ import annotations

from typing import Protocol

from starlette.requests import Request

from examvault.clock import Clock
from examvault.metrics import Metrics
from examvault.services.analytics import Analytics
from examvault.services.attempts import Attempts
from examvault.services.candidates import Directory
from examvault.services.examday import ExamDay
from examvault.services.exams import Exams
from examvault.services.imports import Sandbox
from examvault.services.invigilators import Invigilators
from examvault.services.keys import Keys
from examvault.services.markers import Markers
from examvault.services.marks import Marks
from examvault.services.media import Media
from examvault.services.results import Results
from examvault.services.writes import Writes
from examvault.settings import Settings
from examvault.store.engine import Store


class Server(Protocol):
    """The parts of the server process that routes call."""

    settings: Settings
    clock: Clock
    metrics: Metrics
    store: Store
    writes: Writes
    directory: Directory
    attempts: Attempts
    exams: Exams
    media: Media
    imports: Sandbox
    keys: Keys
    results: Results
    analytics: Analytics
    invigilators: Invigilators
    examday: ExamDay
    markers: Markers
    marks: Marks


def server_of(request: Request) -> Server:
    """The server this request reached."""
    server: Server = request.app.state.server
    return server
