"""The reference for the load benchmark: a bare slack-bolt echo app, no storage.

Same stack as `exitbot serve`'s Slack endpoint: one aiohttp server, `POST /slack/events`
through `slack_bolt.adapter.aiohttp` (`to_bolt_request` / `to_aiohttp_response` around
`AsyncApp.async_dispatch`), an `AsyncWebClient` pointed at the (fake) Slack Web API. Its
`message` listener posts the received text back to the same DM with `chat.postMessage`,
after Bolt's ack, exactly as ExitBot's listener replies after the ack. What it measures is
the framework's own ceiling on this machine: HTTP in, signature check, Bolt dispatch, one
Web API call out.

Run (the load generator starts it as a subprocess):

    python bench/load/bolt_echo.py --port P --api-url http://127.0.0.1:Q/api/ --signing-secret S

The client is set up like ExitBot's (`adapters.slack.SlackChannel.start`): one long-lived
aiohttp session, so Web API calls reuse pooled keep-alive connections. `--session per-call`
leaves `client.session` unset, slack_sdk's default: a fresh session, and a fresh TCP
connection, for every call. That is how the reference ran in runs 1-30 (BENCHMARKS.md),
although ExitBot has kept one session since `bd19e42`: it cost the reference about a third
of its throughput. `GET /healthz` answers 200 so the load generator knows it is up.
"""

from __future__ import annotations

import argparse
import logging
import sys

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

BOLT = web.AppKey("bolt", AsyncApp)


SESSIONS = ("shared", "per-call")


def build(api_url: str, signing_secret: str, token: str, *, session: str) -> web.Application:
    if session not in SESSIONS:
        raise ValueError(f"session must be one of {SESSIONS}, not {session!r}")
    if not api_url.endswith("/"):
        api_url += "/"  # slack_sdk appends the method name verbatim
    logger = logging.getLogger("bolt_echo")
    logger.setLevel(logging.WARNING)  # like ExitBot's sdk_logger: no per-request DEBUG work
    client = AsyncWebClient(token=token, base_url=api_url, logger=logger, timeout=30)
    bolt = AsyncApp(client=client, signing_secret=signing_secret, logger=logger, name="echo")

    @bolt.event("message")
    async def echo(event: dict, client: AsyncWebClient) -> None:
        if event.get("subtype") or event.get("bot_id"):
            return
        await client.chat_postMessage(channel=event["channel"], text=event.get("text") or "?")

    async def events(request: web.Request) -> web.Response:
        response = await request.app[BOLT].async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app[BOLT] = bolt
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)

    if session == "shared":

        async def open_session(_app: web.Application) -> None:
            client.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=client.timeout)
            )

        async def close_session(_app: web.Application) -> None:
            if client.session is not None:
                await client.session.close()

        app.on_startup.append(open_session)
        app.on_cleanup.append(close_session)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-url", required=True, help="fake Slack Web API base URL")
    parser.add_argument("--signing-secret", required=True)
    parser.add_argument("--token", default="xoxb-bench-token")
    parser.add_argument(
        "--session",
        choices=SESSIONS,
        default="shared",
        help="one aiohttp session for all Web API calls, as ExitBot (shared), or slack_sdk's"
        " default of one per call (per-call: the reference of runs 1-30)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app = build(args.api_url, args.signing_secret, args.token, session=args.session)
    web.run_app(app, host=args.host, port=args.port, print=None, shutdown_timeout=2.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
