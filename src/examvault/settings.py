"""The one settings object, read from `EXAMVAULT_*` once, in `cli.py`.

No other module reads the environment: everything else is handed a `Settings`.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Writer tasks a process may have: each keeps its own row of the save counters.
MAX_WRITERS = 16


class Settings(BaseSettings):
    """Everything an operator can set; each field is `EXAMVAULT_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="EXAMVAULT_", frozen=True, extra="ignore")

    data_dir: Path = Path("./examvault-data")
    database_url: str | None = None
    admin_token: SecretStr | None = None

    max_body_bytes: int = 1 << 20
    # POST /exams: a definition with rich text may be large (docs/api.md, Rich text).
    max_exam_body_bytes: int = 10 << 20
    # The pictures of one exam together (docs/api.md, Media); each is at most 2 MiB.
    media_exam_bytes: int = 50 << 20
    max_import_bytes: int = 20 << 20
    max_items_per_save: int = 1000
    # An uploaded import is parsed in a child process capped at this much CPU time and
    # address space (a file over a cap is refused with 422), at most this many at once
    # (503 past that): parsing never holds the event loop (src/examvault/services/imports.py).
    import_cpu_seconds: int = Field(default=60, ge=1)
    import_memory_bytes: int = Field(default=2 << 30, ge=256 << 20)
    import_concurrency: int = Field(default=1, ge=1)

    # Group commit: how many requests may wait for the writer before 503, and how many
    # one transaction takes at most.
    write_queue_limit: int = 4_000
    write_batch_limit: int = 512
    write_timeout_seconds: float = 10.0
    # Requests being handled at once; past it the server answers 503 at once rather than
    # letting a queue grow inside the event loop (push back, don't fall over).
    max_in_flight: int = 2_000
    # PostgreSQL: batches the writer keeps in flight (store/writer.py); unset, two. SQLite
    # has one writer a database file: more than one is refused there.
    writers: int | None = Field(default=None, ge=1, le=MAX_WRITERS)

    rate_burst: int = 100
    rate_per_second: float = 20.0
    address_rate_limit: bool = False
    address_rate_burst: int = 2000
    address_rate_per_second: float = 1000.0

    sweep_interval_seconds: float = 1.0
    job_poll_seconds: float = 0.5
    job_lease_seconds: float = 60.0
    job_max_tries: int = 5
    run_workers: bool = True

    # Behind a reverse proxy (deploy/nginx): the addresses (comma-separated IPs or CIDR
    # networks) whose X-Forwarded-For / X-Forwarded-Proto are believed. Empty: nobody's,
    # the headers are ignored and the peer's address is the client's.
    forwarded_allow_ips: str = ""
    # Idle time of a keep-alive connection between two requests; a proxy's upstream
    # keep-alive timeout must be shorter (deploy/nginx/examvault.conf).
    keep_alive_seconds: int = Field(default=5, ge=1)

    log_level: str = "INFO"
    migrate_on_start: bool = True

    @model_validator(mode="after")
    def _one_writer_on_sqlite(self) -> Settings:
        if (self.writers or 1) > 1 and self.on_sqlite():
            raise ValueError(
                "EXAMVAULT_WRITERS above 1 needs PostgreSQL: SQLite has one writer a file"
            )
        return self

    def on_sqlite(self) -> bool:
        """Whether the database is SQLite: one writer a file, taken on one process's loop."""
        return self.database().startswith("sqlite")

    def writer_tasks(self) -> int:
        """Batches the writer keeps in flight: two on PostgreSQL unless set, one on SQLite."""
        return 1 if self.on_sqlite() else (self.writers or 2)

    def database(self) -> str:
        """The database URL: the setting, or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'examvault.db').resolve()}"

    def resolved_admin_token(self) -> tuple[str, bool]:
        """The admin token, and whether it was generated here (and so should be shown)."""
        if self.admin_token is not None:
            return self.admin_token.get_secret_value(), False
        path = self.data_dir / "admin-token"
        if path.exists():
            return path.read_text().strip(), True
        self.data_dir.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(32)
        path.touch(mode=0o600)
        path.write_text(token + "\n")
        return token, True
