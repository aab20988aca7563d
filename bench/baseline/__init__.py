"""The "everything at submission" design of the incident report, as a baseline to beat.

Raw answers are held as one JSON document per attempt during the exam; all the work —
scoring each question with its own marking-rule query, section statistics, percentiles
over every submitted attempt, the result object — happens inside the submit request.
It speaks the same HTTP routes as examvault (docs/api.md) so that `examvault loadtest
--target baseline` drives it unchanged, on the same stack (FastAPI, uvicorn,
SQLAlchemy async, aiosqlite/asyncpg) and the same database.
"""
