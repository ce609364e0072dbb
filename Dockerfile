# Innovate: one app server. compose.yaml runs several behind nginx with PostgreSQL and Redis.
#
# The project is installed in editable mode from /app: the code finds web/ (templates,
# static files) and migrations/ next to src/ (innovate.settings.PROJECT_ROOT), which a
# regular wheel install would leave behind.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    INNOVATE_DATA_DIR=/data

# pg_dump/pg_restore for `innovate db backup|restore` (Debian bookworm: PostgreSQL 15 client,
# which matches the postgres:15 service in compose.yaml).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 innovate \
    && useradd --system --uid 10001 --gid innovate --home-dir /app --no-create-home --shell /usr/sbin/nologin innovate \
    && mkdir -p /app /data \
    && chown innovate:innovate /data

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN mkdir -p src/innovate && touch src/innovate/__init__.py \
    && pip install -e . \
    && rm -rf src

COPY alembic.ini ./
COPY migrations ./migrations
COPY web ./web
COPY src ./src
# Re-run the (dependency-free) editable install so the metadata matches the real sources.
RUN pip install --no-deps -e . && python -c "import innovate.app"

USER innovate
VOLUME ["/data"]
EXPOSE 8000

# Liveness only (no database round trip); /readyz checks the database and broker.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]

# Safe default: trust no X-Forwarded-* headers. Behind a proxy, add
# --forwarded-allow-ips=<proxy address> (compose.yaml does) so throttles see client IPs.
# SIGTERM: stop accepting, finish requests for up to --graceful-timeout seconds, close
# live sockets with 1012 so clients reconnect elsewhere.
STOPSIGNAL SIGTERM
CMD ["innovate", "serve", "--host", "0.0.0.0", "--port", "8000", "--graceful-timeout", "20"]
