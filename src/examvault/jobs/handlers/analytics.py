"""The `analytics` job: compute and keep the analytics document of one exam (after a
close and after a regrade). Idempotent: a rerun recomputes from the stored rows."""

from __future__ import annotations

from examvault.jobs.queue import Finish, Job
from examvault.services.analytics import Analytics


class AnalyticsJob:
    """Compute while reading freely; the document is stored when the job completes."""

    def __init__(self, analytics: Analytics) -> None:
        self.analytics = analytics

    async def __call__(self, job: Job) -> Finish:
        keep = await self.analytics.fresh(job["exam_id"])
        return keep.apply
