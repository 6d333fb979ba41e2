# syntax=docker/dockerfile:1
# ExitBot: one container serving Slack, Teams, the departure webhook, web chat and the scheduler.

FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY conversations ./conversations
COPY adapters ./adapters
COPY bot ./bot
RUN python -m venv /opt/exitbot \
 && /opt/exitbot/bin/pip install --no-cache-dir . \
 && find /opt/exitbot -name '__pycache__' -prune -exec rm -rf {} +

FROM python:3.11-slim
LABEL org.opencontainers.image.title="ExitBot" \
      org.opencontainers.image.description="Exit interviews in Slack and Microsoft Teams with anonymised HR insight"
ENV PATH=/opt/exitbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib \
    EXITBOT_DATABASE_URL=sqlite:////data/exitbot.db \
    EXITBOT_LOG_FORMAT=json
RUN groupadd --system --gid 10001 exitbot \
 && useradd --system --uid 10001 --gid exitbot --home-dir /data --no-create-home exitbot \
 && mkdir -p /data && chown exitbot:exitbot /data
COPY --from=build /opt/exitbot /opt/exitbot
COPY teams /opt/exitbot/share/exitbot/teams
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3978/healthz', timeout=4).status == 200 else 1)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["exitbot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3978"]
