"""`exitbot serve` with nothing configured prints the playground URL, and the page works."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_line(stream: object, deadline: float) -> str:
    fd = stream.fileno()  # type: ignore[attr-defined]
    buffer = b""
    while time.monotonic() < deadline and not buffer.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 1)
            if not chunk:
                break
            buffer += chunk
    return buffer.decode()


def start_serve(tmp_path: Path, **env_vars: str) -> tuple[subprocess.Popen[bytes], int]:
    """`exitbot serve` on a free port over a fresh SQLite file, with only `env_vars` of
    ExitBot's, Slack's or Teams' settings (none of the test runner's)."""
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("EXITBOT_", "SLACK_", "Microsoft"))
    }
    env["EXITBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    env.update(env_vars)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )
    return proc, port


def stop_serve(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    """SIGINT, as a terminal's Ctrl-C; what it wrote to stdout and stderr."""
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return out.decode(), err.decode()


def test_serve_without_a_platform_prints_the_playground_url(tmp_path: Path) -> None:
    # Like the README's first command on a fresh machine: no key set, one is generated.
    proc, port = start_serve(tmp_path)
    try:
        line = read_line(proc.stdout, time.monotonic() + 30)
        url = f"http://127.0.0.1:{port}/playground"
        assert line.strip() == f"No Slack or Teams configured: open the playground at {url}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert "Try an interview as a departing employee" in response.read().decode()
    finally:
        _, err = stop_serve(proc)
    assert f"open the playground at http://127.0.0.1:{port}/playground" in err
    assert "Traceback" not in err
    assert "EXITBOT_DIGEST_CRON" not in err  # the default is monthly: nothing to say


def test_with_json_logs_every_line_serve_writes_is_a_json_record(tmp_path: Path) -> None:
    """EXITBOT_LOG_FORMAT=json: the playground line was printed as plain text on stdout
    besides its log record, which a JSON log collector cannot read."""
    proc, _ = start_serve(tmp_path, EXITBOT_LOG_FORMAT="json")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = read_line(proc.stderr, deadline)
            if "open the playground" in line:
                break
        assert "open the playground" in json.loads(line)["message"]
    finally:
        out, err = stop_serve(proc)
    assert out == ""
    for record in err.splitlines():
        assert isinstance(json.loads(record), dict), record


def test_serve_warns_when_digests_are_scheduled_more_than_monthly(tmp_path: Path) -> None:
    """A weekly EXITBOT_DIGEST_CRON posts once a month (digests cover whole calendar
    months); its empty firings would otherwise go unexplained."""
    proc, _ = start_serve(tmp_path, EXITBOT_DIGEST_CRON="0 9 * * 1")
    try:
        assert "open the playground" in read_line(proc.stdout, time.monotonic() + 30)
    finally:
        _, err = stop_serve(proc)
    [warning] = [line for line in err.splitlines() if "EXITBOT_DIGEST_CRON" in line]
    assert "WARNING" in warning
    assert "'0 9 * * 1' fires more than once a month" in warning
    assert "digests cover whole calendar months" in warning
    assert "only its first firing after a month ends posts a digest with new figures" in warning


async def test_serve_takes_the_start_up_heap_out_of_the_collectors_sight() -> None:
    """Full collections over everything built at start-up paused requests for ~100 ms."""
    import gc

    from aiohttp import web

    from bot.cli.serve import _settle_heap

    gc.unfreeze()
    try:
        await _settle_heap(web.Application())
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
