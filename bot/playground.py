"""The playground: with no chat platform configured, `exitbot serve` offers a local page to
hold an interview as a departing employee and to preview the HR digest for the demo data.

Mounted only by `bot.web_plugin` when neither Slack nor Teams is configured (or with
`EXITBOT_PLAYGROUND=on`): it must not exist in a production set-up.
"""

from __future__ import annotations

import base64
import logging
import random
import secrets
from collections.abc import Sequence
from html import escape

from aiohttp import web
from sqlalchemy import func, select

from adapters import web_html
from adapters.base import Incoming, Report
from adapters.web import CsrfGuard, error_page, friendly_errors, html_response, read_form
from bot import facts as facts_mod
from bot.models import DEMO_DOMAIN, Employee, Interview, InterviewFact
from bot.runtime import Runtime
from bot.service import OPEN_STATUSES
from bot.web_plugin import WebDesk
from conversations import OutMessage

log = logging.getLogger(__name__)

SCOPE = "playground"
MAX_STEPS = 80  # a synthetic interview never takes more messages than this

DEMO_DEPARTMENTS = ("Sales (demo)", "Engineering (demo)", "Support (demo)")
DEMO_TEXT = {
    "en": (
        "The workload kept growing while the team got smaller, and there was no time left "
        "to learn new things or do the work properly.",
        "I got a better offer elsewhere with more room to grow into a senior role; here the "
        "career path was never clear to me.",
        "My colleagues were great and always willing to help, and I liked the flexible hours.",
        "Clearer priorities from management and regular one-to-one conversations about "
        "development would have made a real difference.",
        "Decisions were often changed at the last moment without explanation, which made "
        "planning our projects hard.",
        "The salary stayed behind the market, and the yearly review never led to a raise.",
    ),
    "nl": (
        "De werkdruk werd steeds hoger terwijl het team kleiner werd, en er was geen tijd "
        "meer om nieuwe dingen te leren of het werk goed te doen.",
        "Ik kreeg elders een beter aanbod met meer groeimogelijkheden; hier was het "
        "loopbaanpad voor mij nooit duidelijk.",
        "Mijn collega's waren fijn en altijd bereid te helpen, en de flexibele werktijden "
        "vond ik prettig.",
        "Duidelijkere prioriteiten van het management en regelmatige gesprekken over "
        "ontwikkeling hadden echt verschil gemaakt.",
        "Besluiten werden vaak op het laatste moment zonder uitleg veranderd, waardoor "
        "plannen lastig was.",
        "Het salaris bleef achter bij de markt en de jaarlijkse beoordeling leverde nooit "
        "een verhoging op.",
    ),
}


def is_demo(email: str | None) -> bool:
    return bool(email) and str(email).endswith("@" + DEMO_DOMAIN)


def demo_email(prefix: str = "demo") -> str:
    return f"{prefix}-{secrets.token_hex(6)}@{DEMO_DOMAIN}"


class Playground:
    def __init__(self, runtime: Runtime, desk: WebDesk, guard: CsrfGuard) -> None:
        self.runtime = runtime
        self.desk = desk
        self.guard = guard

    def setup(self, app: web.Application) -> None:
        app.router.add_get("/playground", friendly_errors(self.page))
        app.router.add_post("/playground/interviews", friendly_errors(self.start_interview))
        app.router.add_post("/playground/demo-data", friendly_errors(self.fill))

    # ------------------------------------------------------------------ handlers

    async def page(self, request: web.Request) -> web.StreamResponse:
        return html_response(await self._render())

    async def start_interview(self, request: web.Request) -> web.StreamResponse:
        form = await read_form(request)
        if not self.guard.allows(request, SCOPE, form.get("csrf")):
            return error_page(403, "en")
        language = str(form.get("lang") or "en")
        if language not in self.runtime.questionnaire.languages:
            language = self.runtime.settings.language
        email = demo_email()
        outcome = await self.runtime.service.begin_chat(
            channel="web", email=email, conversation_id=f"playground:{email}", language=language
        )
        assert outcome.interview_id is not None
        token = await self.desk.issue(outcome.interview_id)
        log.info("playground: demo interview %s started", outcome.interview_id)
        raise web.HTTPSeeOther(f"/i/{token}")

    async def fill(self, request: web.Request) -> web.StreamResponse:
        form = await read_form(request)
        if not self.guard.allows(request, SCOPE, form.get("csrf")):
            return error_page(403, "en")
        made = await fill_demo_interviews(self.runtime, self.runtime.settings.min_group_size)
        log.info("playground: %d demo interviews completed", made)
        raise web.HTTPSeeOther("/playground#digest")

    # ------------------------------------------------------------------ the page

    async def _render(self) -> str:
        k = self.runtime.settings.min_group_size
        demo = await self._demo_count()
        report = await preview_digest(self.runtime)
        csrf = escape(self.guard.token_for(SCOPE))
        hidden = f'<input type="hidden" name="csrf" value="{csrf}">'
        body = (
            '<a class="skip-link" href="#main">Skip to content</a>'
            f"{web_html.brand_header('Playground')}"
            '<main class="chat play-grid" id="main">'
            "<div><h1>Try ExitBot in your browser</h1>"
            '<p class="private">No Slack or Teams is configured, so ExitBot runs in playground '
            "mode. Everything you do here is stored in this server's own database, like a real "
            "interview; demo people have made-up addresses ending in "
            f"<code>@{DEMO_DOMAIN}</code>.</p></div>"
            '<section class="card" aria-labelledby="try-title">'
            '<h2 id="try-title">Try an interview as a departing employee</h2>'
            "<p>You play someone who is leaving. ExitBot explains the purpose and privacy, "
            "asks the model exit-interview questions, probes when an answer is vague, and "
            "asks you to confirm a summary at the end. Click a button or type; you can type "
            "<em>skip</em>, <em>back</em>, <em>pause</em>, <em>stop</em> or <em>help</em> at "
            "any time.</p>"
            f'<form method="post" action="/playground/interviews">{hidden}'
            '<fieldset class="langs"><legend>Interview language</legend>'
            '<label><input type="radio" name="lang" value="en" checked> English</label>'
            '<label lang="nl"><input type="radio" name="lang" value="nl"> Nederlands</label>'
            "</fieldset>"
            '<button type="submit" class="primary">Start a demo interview</button></form>'
            "</section>"
            '<section class="card" aria-labelledby="digest">'
            '<h2 id="digest">Preview the HR digest</h2>'
            "<p>HR never sees one person's answers. The digest only reports groups of at "
            f"least <strong>{k}</strong> completed interviews (<code>EXITBOT_MIN_GROUP_SIZE"
            "</code>), and themes from free text only from twice that many; until then it "
            "says so and waits.</p>"
            f"<p><strong>{demo}</strong> completed demo interview(s) this period. The "
            "preview counts demo interviews only: real ones are never shown here, and demo "
            "ones are never counted in a digest HR receives.</p>"
            f'<form method="post" action="/playground/demo-data" class="inline-form">{hidden}'
            f'<button type="submit" class="secondary">Fill with {k} demo interviews</button>'
            "</form>"
            '<p class="demo-note"><strong>Demo data.</strong> The button adds synthetic, '
            "completed interviews by fictional employees so the digest has figures to show. "
            "Never use it on a database with real interviews.</p>"
            f'<div class="digest">{render_report(report)}</div>'
            "</section>"
            '<section class="card" aria-labelledby="next-title">'
            '<h2 id="next-title">Next steps</h2>'
            "<p>Connect Slack (<code>SLACK_BOT_TOKEN</code>, <code>SLACK_SIGNING_SECRET</code>) "
            "or Teams (<code>MicrosoftAppId</code>, <code>MicrosoftAppPassword</code>) and this "
            "playground disappears. The same interview also runs in a terminal: "
            "<code>exitbot chat</code>.</p></section>"
            "</main>"
            '<footer class="foot">ExitBot playground · local demo, no cookies, no tracking'
            "</footer>"
        )
        return web_html.page("Playground · ExitBot", "en", body)

    async def _demo_count(self) -> int:
        period = facts_mod.period_of(self.runtime.clock.now(), self.runtime.settings.timezone)
        async with self.runtime.db.sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(InterviewFact)
                .join(Interview, Interview.id == InterviewFact.interview_id)
                .join(Employee, Employee.id == Interview.employee_id)
                .where(InterviewFact.period == period)
                .where(Employee.email.like("%@" + DEMO_DOMAIN))
            )
        return int(count or 0)


# ---------------------------------------------------------------------- the digest preview


async def preview_digest(runtime: Runtime) -> Report | None:
    """The digest `exitbot digest --dry-run` would show now, over the demo
    interviews only (this page is open to anyone who reaches the server; made-up people give
    nobody away by difference): nothing is posted or frozen. None when this build has no
    digest module yet, or the preview failed."""
    try:
        from bot import digest_post, digest_render
    except ImportError:
        return None
    try:
        data = await digest_post.preview(runtime, actor="playground", demo=True)
        report = digest_render.render_report(data)
    except Exception:
        log.exception("digest preview failed")
        return None
    return report if isinstance(report, Report) else None


def render_report(report: Report | None) -> str:
    if report is None:
        return '<p class="small">The digest preview is not available in this build.</p>'
    parts = [f"<h3>{escape(report.title)}</h3>"]
    for section in report.sections:
        items = "".join(f"<li>{escape(line)}</li>" for line in section.lines)
        parts.append(f"<h3>{escape(section.heading)}</h3><ul>{items}</ul>")
    if report.image_png:
        data = base64.b64encode(report.image_png).decode("ascii")
        parts.append(
            f'<p><img src="data:image/png;base64,{data}" alt="{escape(report.image_alt)}"></p>'
        )
    if report.footer:
        parts.append(f'<p class="digest-footer">{escape(report.footer)}</p>')
    return "".join(parts)


# ---------------------------------------------------------------------- demo interviews


async def fill_demo_interviews(runtime: Runtime, count: int, *, seed: int | None = None) -> int:
    """Hold `count` synthetic interviews to completion through the real engine."""
    rng = random.Random(seed)
    made = 0
    for number in range(count):
        language = rng.choice(runtime.questionnaire.languages)
        email = demo_email("demo-fill")
        now = runtime.clock.now()
        async with runtime.db.transaction() as session:
            await runtime.service.upsert_employee(
                session,
                email=email,
                now=now,
                department=DEMO_DEPARTMENTS[number % len(DEMO_DEPARTMENTS)],
            )
        outcome = await runtime.service.begin_chat(
            channel="web", email=email, conversation_id=f"playground:{email}", language=language
        )
        interview_id = outcome.interview_id
        messages = outcome.messages
        for step in range(MAX_STEPS):
            text, choice = _demo_answer(messages, language, rng)
            outcome = await runtime.service.handle(
                Incoming(
                    channel="web",
                    user_id=f"interview:{interview_id}",
                    conversation_id=f"playground:{email}",
                    text=text,
                    message_id=f"{interview_id}:demo-{step}-{secrets.token_hex(4)}",
                    choice=choice,
                    locale=language,
                    interview_id=interview_id,
                )
            )
            messages = outcome.messages
            if outcome.status not in OPEN_STATUSES:
                break
        made += outcome.status == "completed"
    return made


def _demo_answer(
    messages: Sequence[OutMessage], language: str, rng: random.Random
) -> tuple[str, str | None]:
    last = messages[-1] if messages else None
    if last is not None and last.choices:
        values = [c.value for c in last.choices]
        if "confirm" in values:
            pick = "confirm"
        elif "start" in values:
            pick = "start"
        else:
            pick = rng.choice(values)
        label = next(c.label for c in last.choices if c.value == pick)
        return label, pick
    return rng.choice(DEMO_TEXT.get(language, DEMO_TEXT["en"])), None
