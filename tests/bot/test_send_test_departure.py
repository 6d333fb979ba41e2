"""`exitbot send-test-departure` against a real `exitbot serve` on a loopback port, then
`exitbot tick` once the invite is due."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import aiohttp
import pytest

from bot.cli import main
from bot.crypto import Cipher
from tests.support.departures import SECRET

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until_up(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("exitbot serve did not start")


async def test_send_test_departure_to_a_running_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    settings = {
        "EXITBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'exitbot.db'}",
        "EXITBOT_WEBHOOK_SECRET": SECRET,
        "EXITBOT_ENCRYPTION_KEY": Cipher.new_key(),
        "EXITBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "EXITBOT_TICK_SECONDS": "3600",  # the scheduler stays out of the way; we tick by hand
    }
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("EXITBOT_", "SLACK_"))},
        "PYTHONPATH": str(ROOT),
        **settings,
    }
    server = subprocess.Popen(  # noqa: ASYNC220  (a long-running child; polled below)
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for name, value in settings.items():  # the commands below run in this process
        monkeypatch.setenv(name, value)
    try:
        await wait_until_up(f"http://127.0.0.1:{port}/healthz", server)
        code, out, err = await cli("send-test-departure", "--email", "it-check@example.com")
        assert code == 0, err
        assert "HTTP 202" in out
        answer = json.loads(out[out.index("{") : out.rindex("}") + 1])
        assert answer["status"] == "scheduled"
        assert answer["departure_id"].startswith("test-")
        assert (  # the withdrawal can be pasted as it is
            "--email it-check@example.com --type departure.cancelled "
            f"--id {answer['departure_id']}`" in out
        )

        code, out, err = await cli("tick")
        assert code == 0, err
        assert "invites sent: 0" in out and "no chat channel: 0" in out

        code, out, err = await cli("tick", "--as-of", answer["invite_at"])
        assert code == 0, err
        # No chat platform is configured here: the tick shows the due invite as such.
        assert "no chat channel: 1" in out
        assert "it-check@example.com" not in out + err

        code, out, err = await cli(
            "send-test-departure", "--email", "it-check@example.com",
            "--type", "departure.cancelled", "--id", answer["departure_id"],
        )  # fmt: skip
        assert code == 0, err
        assert '"status": "cancelled"' in out

        # The copy-paste sender of docs/webhook.md works as written.
        example = tmp_path / "send_departure.py"
        example.write_text(python_example())
        sender = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(example)],
            env={**env, "EXITBOT_URL": f"http://127.0.0.1:{port}"},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert sender.stdout.startswith("202 "), sender.stdout + sender.stderr
        assert json.loads(sender.stdout[4:])["departure_id"] == "hr-4711"
    finally:
        server.terminate()
        try:
            out, err = await asyncio.to_thread(server.communicate, timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            out, err = server.communicate()
    assert server.returncode == 0, err
    assert "it-check@example.com" not in out + err  # logs never carry email addresses


async def cli(*argv: str) -> tuple[int, str, str]:
    """Run an `exitbot` command (it runs its own event loop: so in a thread)."""
    return await asyncio.to_thread(run_cli, *argv)


def python_example() -> str:
    text = (ROOT / "docs" / "webhook.md").read_text()
    start = text.index("```python\n") + len("```python\n")
    return text[start : text.index("```", start)]


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(argv))
    finally:  # `main` installs its own root handler: give pytest's back
        root.handlers[:] = handlers
        root.setLevel(level)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("kind", ["departure.cancelled", "departure.updated"])
def test_changing_a_test_departure_needs_its_id(kind: str) -> None:
    """Without --id a new made-up id was sent: 202 'cancelled' for a departure that never
    existed, while the real test departure stayed scheduled."""
    code, out, err = run_cli("send-test-departure", "--email", "a@example.com", "--type", kind)
    assert code == 2
    assert f"--type {kind} needs --id" in err and "POST" not in out


def test_without_a_secret_it_says_so() -> None:
    code, _, err = run_cli("send-test-departure", "--email", "a@example.com")
    assert code == 2
    assert "EXITBOT_WEBHOOK_SECRET is not set" in err


def test_an_unreachable_server_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXITBOT_WEBHOOK_SECRET", SECRET)
    code, _, err = run_cli(
        "send-test-departure",
        "--email",
        "a@example.com",
        "--url",
        f"http://127.0.0.1:{free_port()}/webhooks/departures",
    )
    assert code == 1
    assert "could not reach the server" in err


def test_an_unreachable_default_address_points_at_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXITBOT_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("EXITBOT_PUBLIC_URL", f"http://127.0.0.1:{free_port()}")
    code, _, err = run_cli("send-test-departure", "--email", "a@example.com")
    assert code == 1
    assert "EXITBOT_PUBLIC_URL; pass --url" in err
