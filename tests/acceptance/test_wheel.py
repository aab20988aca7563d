"""The wheel is a working server on its own: built, installed into a fresh venv with only
its runtime dependencies, `examvault serve --demo` answers and lists the demo exam.

The source is copied first, so the build leaves nothing in the working tree; pip uses the
machine's package index as configured (the local mirror here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from examvault.loadtest.server import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXTRA = "pip install 'examvault[load]'"


def _run(
    *cmd: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, cwd=cwd)


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without our settings or a path into the source tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMVAULT_")}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    return env | extra


def test_the_wheel_installs_alone_and_serves_the_demo(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    dist = tmp_path / "dist"
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, source)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("examvault-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for static in (REPO / "src/examvault/web/static").iterdir():
        assert f"examvault/web/static/{static.name}" in names
    for migration in (REPO / "src/examvault/migrations").rglob("*"):
        if migration.is_file() and migration.suffix in (".py", ".mako"):
            relative = migration.relative_to(REPO / "src").as_posix()
            assert relative in names

    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv).returncode == 0
    python, examvault = venv / "bin" / "python", venv / "bin" / "examvault"
    env = _clean_env()
    installed = _run(python, "-m", "pip", "install", "-q", wheel, env=env)
    assert installed.returncode == 0, installed.stderr

    # the runtime only: none of the load tool's or the tests' dependencies came along
    probe = "import importlib.util as u; print(u.find_spec('examvault.cli').origin); " + (
        "print(*[m for m in ('aiohttp', 'matplotlib', 'psutil', 'httpx') if u.find_spec(m)])"
    )
    where, extras = _run(python, "-c", probe, env=env, cwd=tmp_path).stdout.splitlines()
    assert Path(where).is_relative_to(venv), where
    assert extras == ""
    for command in (["loadtest"], ["report", "demo", "--out", str(tmp_path / "report")]):
        refused = _run(examvault, *command, env=env, cwd=tmp_path)
        assert refused.returncode == 2
        assert EXTRA in refused.stderr, refused.stderr

    data, port = tmp_path / "data", free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [examvault, "serve", "--demo", "--port", str(port)],
        env=_clean_env(EXAMVAULT_DATA_DIR=str(data)),
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a failure guard only
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "not ready in 120 s"
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        admin = (data / "admin-token").read_text().strip()
        exams = httpx.get(
            f"{base}/api/v1/exams", headers={"Authorization": f"Bearer {admin}"}, timeout=10
        )
        assert exams.status_code == 200
        assert "demo" in exams.text
        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert httpx.get(f"{base}/static/exam.js", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(30)
