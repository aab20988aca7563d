"""The schema, defined once; Alembic migrations are checked against it in CI.

Hot tables (attempts, answers, journal) are keyed by attempt first, so the data can be
distributed by attempt without changing a query (docs/architecture.md, principle 9). Times are
BIGINT microseconds since the epoch in UTC, exact scores are "n/d" text: both compare
and round-trip the same way on SQLite and PostgreSQL. No foreign keys on hot tables:
every write is checked by the code that makes it, and a distributed store could not
enforce them across shards anyway.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

# SQLite only gives an autoincrementing rowid to a column declared INTEGER PRIMARY KEY.
Serial = BigInteger().with_variant(Integer(), "sqlite")

exams = Table(
    "exams",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("key_version", Integer, nullable=False, server_default="1"),
    Column("fingerprint", String(64), nullable=False),
    Column("definition", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("opens_at", BigInteger),
    Column("closes_at", BigInteger),
    Column("grace_seconds", Integer, nullable=False),
    Column("closed_at", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

exam_keys = Table(
    "exam_keys",
    metadata,
    Column("exam_id", String(64), primary_key=True),
    Column("key_version", Integer, primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text),
    Column("changes", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("impact", Text),
)

candidates = Table(
    "candidates",
    metadata,
    Column("exam_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("registered_at", BigInteger, nullable=False),
    # The exam day (docs/api.md, Exam day): the room, the accommodation, and the sum of
    # the `extend` actions that reached this candidate (seconds).
    Column("room", String(64)),
    Column("extra_seconds", Integer, nullable=False, server_default="0"),
    Column("extended_seconds", Integer, nullable=False, server_default="0"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("exam_id", String(64), nullable=False),
    Column("candidate_id", String(64), nullable=False),
    Column("exam_version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("deadline", BigInteger, nullable=False),
    Column("end_at", BigInteger, nullable=False),
    Column("submitted_at", BigInteger),
    Column("submit_kind", String(16)),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    Column("answered", Integer, nullable=False, server_default="0"),
    Column("totals", Text, nullable=False),
    Column("key_version", Integer, nullable=False, server_default="1"),
    Column("last_seen_at", BigInteger),
    Column("rank", Integer),
    Column("percentile", String(32)),
    Column("section_ranks", Text),
    # Set while paused (no end applies then); the total of finished pauses (micros); and
    # whether an invigilator reopened it (a change of extra_seconds no longer moves it).
    Column("paused_at", BigInteger),
    Column("paused_micros", BigInteger, nullable=False, server_default="0"),
    Column("reopened", Boolean, nullable=False, server_default=text("false")),
    Index("attempts_exam_candidate", "exam_id", "candidate_id", unique=True),
    Index("attempts_open_by_end", "status", "end_at"),
)

answers = Table(
    "answers",
    metadata,
    Column("attempt_id", String(32), primary_key=True),
    Column("question_id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("response", Text),
    Column("marked", Boolean, nullable=False),
    Column("time_spent_ms", BigInteger),
    Column("outcome", String(12), nullable=False),
    Column("score", String(64), nullable=False),
    Column("saved_at", BigInteger, nullable=False),
    # A person's mark of a manual question ("n/d"), with its comment, who and when.
    Column("mark", String(64)),
    Column("mark_comment", Text),
    Column("marked_by", String(64)),
    Column("marked_at", BigInteger),
)

journal = Table(
    "journal",
    metadata,
    Column("attempt_id", String(32), primary_key=True),
    Column("question_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("response", Text),
    Column("marked", Boolean, nullable=False),
    Column("time_spent_ms", BigInteger),
    Column("received_at", BigInteger, nullable=False),
    Column("late", Boolean, nullable=False),
)

# Per-second counters for the live page, sharded by writer so that concurrent
# transactions on PostgreSQL do not queue on one hot row.
save_stats = Table(
    "save_stats",
    metadata,
    Column("exam_id", String(64), primary_key=True),
    Column("second", BigInteger, primary_key=True),
    Column("shard", Integer, primary_key=True),
    Column("saved", Integer, nullable=False),
    Column("late", Integer, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("exam_id", String(64)),
    Column("payload", Text, nullable=False, server_default="{}"),
    Column("dedupe", String(200)),
    Column("status", String(16), nullable=False),
    Column("tries", Integer, nullable=False, server_default="0"),
    Column("run_after", BigInteger, nullable=False),
    Column("locked_at", BigInteger),
    Column("locked_by", String(64)),
    Column("last_error", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger),
    Index("jobs_ready", "status", "run_after"),
    Index(
        "jobs_pending_dedupe",
        "dedupe",
        unique=True,
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)

invigilators = Table(
    "invigilators",
    metadata,
    Column("exam_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("rooms", Text),  # a JSON list of rooms, or NULL for every room
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("registered_at", BigInteger, nullable=False),
)

markers = Table(
    "markers",
    metadata,
    Column("exam_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("questions", Text),  # a JSON list of question ids, or NULL for every manual one
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("registered_at", BigInteger, nullable=False),
)

# The secret from which an exam's script ids are derived (domain/scripts.py); it never
# leaves the server.
script_keys = Table(
    "script_keys",
    metadata,
    Column("exam_id", String(64), primary_key=True),
    Column("secret", String(64), nullable=False),
)

announcements = Table(
    "announcements",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("exam_id", String(64), nullable=False),
    Column("room", String(64)),
    Column("text", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(64), nullable=False),
    Index("announcements_exam", "exam_id", "id"),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("exam_id", String(64)),
    Column("detail", Text, nullable=False),
    Index("audit_exam", "exam_id", "id"),
)

# The last analytics document of each exam (docs/api.md, Analytics), with the state of
# the data it was computed from (`basis`), so a reader can tell whether it is current.
analytics = Table(
    "analytics",
    metadata,
    Column("exam_id", String(64), primary_key=True),
    Column("computed_at", BigInteger, nullable=False),
    Column("basis", Text, nullable=False),
    Column("document", Text, nullable=False),
)

# The pictures an exam's markup shows (docs/api.md, Media). Kept per exam id, which need
# not exist yet: media may be uploaded before the definition that names them.
media = Table(
    "media",
    metadata,
    Column("exam_id", String(64), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("content_type", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("stored_at", BigInteger, nullable=False),
)
