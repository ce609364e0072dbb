# Innovate: one app server. compose.yaml runs several behind nginx with PostgreSQL and Redis.
#
# Two stages. The first builds the project's wheel, which carries the templates, static files
# and migrations as package data. The second installs that wheel: the image holds no source
# tree, and the app runs from site-packages as it would after `pip install`.

FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /build
COPY pyproject.toml setup.py README.md ./
# The pinned dependencies, read from pyproject.toml, for the runtime stage's own layer.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt
COPY src ./src
RUN pip wheel --no-deps --wheel-dir /dist .


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

# Dependencies first, in their own layer: it is rebuilt only when the pinned list changes,
# not on every change to the code.
COPY --from=build /build/requirements.txt /tmp/requirements.txt
RUN pip install --requirement /tmp/requirements.txt && rm /tmp/requirements.txt

# Then the wheel itself; `pip check` fails the build if the two disagree.
COPY --from=build /dist/ /tmp/dist/
RUN pip install --no-deps /tmp/dist/innovate-*.whl \
    && rm -rf /tmp/dist \
    && pip check \
    && python -c "import innovate.app"

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
