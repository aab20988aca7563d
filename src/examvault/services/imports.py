"""Imports parsed in a child process, with a CPU-time cap and a memory cap.

What parsing an uploaded file costs depends on the file: the hostile probe's 15 MiB
Moodle XML took 7.9 s and 749 MB, a 10 MiB GIFT file of 300,000 questions 11.7 s. Parsed
on the event loop, that held every request of every candidate for as long. Here each
import runs in a fresh interpreter (`python -m examvault.services.imports`, never a fork of the
server and its threads) that caps itself (RLIMIT_CPU, RLIMIT_AS, no core file) before it
reads the file; the server waits for it without blocking, and runs at most
`import_concurrency` at once (503 + Retry-After past that). A file over a cap is refused
with 422 (docs/decisions.md says why not 413). The CLI parses in-process: its user waits
for it anyway.

The child reads `(what, data, keyword arguments)` pickled on stdin — `what` is "import"
(`formats.import_exam`) or "preview" (`formats.preview_import`, a dry run, which costs the
same to parse and so is capped the same) — and writes `(outcome, value)` pickled on
stdout. Both ends are this module, on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import resource
import signal
import sys
from typing import Any

from examvault import errors

_CPU_SIGNALS = (-signal.SIGXCPU, -signal.SIGKILL)  # the soft cap, then the hard one


class Sandbox:
    """Runs `formats.import_exam` in a capped child process, a bounded number at once."""

    def __init__(self, cpu_seconds: int, memory_bytes: int, concurrency: int) -> None:
        self.cpu_seconds = cpu_seconds
        self.memory_bytes = memory_bytes
        self.concurrency = concurrency
        self.running = 0

    async def import_exam(self, data: bytes, **kwargs: Any) -> Any:
        """`formats.import_exam(data, **kwargs)`'s result, or its ImportRefused, raised here."""
        return await self._parse("import", data, kwargs)

    async def preview(self, data: bytes, **kwargs: Any) -> Any:
        """`formats.preview_import(data, **kwargs)`'s result (a dry run), capped the same way."""
        return await self._parse("preview", data, kwargs)

    async def _parse(self, what: str, data: bytes, kwargs: dict[str, Any]) -> Any:
        if self.running >= self.concurrency:
            raise errors.Unavailable(
                f"{self.running} imports are being parsed; retry shortly", retry_after=5
            )
        self.running += 1
        try:
            return await self._run(pickle.dumps((what, data, kwargs), pickle.HIGHEST_PROTOCOL))
        finally:
            self.running -= 1

    async def _run(self, payload: bytes) -> Any:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "examvault.services.imports",
            str(self.cpu_seconds), str(self.memory_bytes),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        # CPU time is capped in the child; wall time only guards against a child starved of
        # CPU by a busy machine (or stuck), which is the server's state, not the file's fault.
        wall = self.cpu_seconds * 4 + 30
        try:
            out, err = await asyncio.wait_for(proc.communicate(payload), wall)
        except TimeoutError:
            await _end(proc)
            raise errors.Unavailable("the server is too busy to parse the file", 10) from None
        except BaseException:  # cancelled (shutdown): the child must not outlive the request
            await _end(proc)
            raise
        if proc.returncode in _CPU_SIGNALS:
            raise errors.ImportTooComplex(f"more than {self.cpu_seconds} s of CPU time")
        if proc.returncode == 0 and out:
            outcome, value = pickle.loads(out)  # written by `main` below, never by a client
            if outcome == "ok":
                return value
            if outcome == "refused":
                from examvault.formats import ImportRefused

                raise ImportRefused(value)
            if outcome == "memory":
                raise errors.ImportTooComplex(f"more than {self.memory_bytes >> 20} MiB of memory")
        if b"MemoryError" in err:  # the cap hit where even the report could not be written
            raise errors.ImportTooComplex(f"more than {self.memory_bytes >> 20} MiB of memory")
        raise RuntimeError(
            f"the import process failed ({proc.returncode}): {err[-2000:].decode(errors='replace')}"
        )


async def _end(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        with contextlib.suppress(BaseException):
            await proc.wait()


def _cap(cpu_seconds: int, memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def main(argv: list[str]) -> int:
    """The child: cap this process, read the request, parse, write the outcome."""
    cpu_seconds, memory_bytes = int(argv[0]), int(argv[1])
    from examvault import formats  # before the cap: the code itself is not the file's cost

    _cap(cpu_seconds, memory_bytes)
    result: tuple[str, Any]
    try:
        what, data, kwargs = pickle.loads(sys.stdin.buffer.read())
        parse = formats.preview_import if what == "preview" else formats.import_exam
        result = ("ok", parse(data, **kwargs))
    except formats.ImportRefused as exc:
        result = ("refused", exc.errors)
    except MemoryError:
        result = ("memory", None)
    try:
        out = pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        out = pickle.dumps(("memory", None))
    del result
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
