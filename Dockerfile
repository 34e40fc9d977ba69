# syntax=docker/dockerfile:1.7
# opera-cloud-mcp image: a uv builder resolves the locked dependencies into /app/.venv, and a slim runtime
# runs that venv as an unprivileged user. Build: docker build -t opera-cloud-mcp:0.1.0 .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: uv sync from the lockfile ------------------------------------------------------------------------
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
# Bytecode is compiled once here so the read-only runtime never tries to write __pycache__; copy mode because
# the cache mount below is another filesystem; the image's own Python, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Dependencies first, in their own layer, so a code change does not reinstall them. The uv cache lives in a
# BuildKit cache mount: it never lands in a layer.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project --no-editable
COPY README.md ./
COPY app ./app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# --- runtime -----------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG APP_UID=10001
# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it without resolving names; the token cache
# directory is the only place the process writes (Kubernetes mounts an emptyDir there).
RUN groupadd --system --gid "${APP_UID}" opera \
    && useradd --system --uid "${APP_UID}" --gid opera --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin opera \
    && install -d -o opera -g opera -m 0700 /var/cache/opera-cloud-mcp
COPY --from=builder --chown=root:root /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OPERA_HOST=0.0.0.0 \
    OPERA_PORT=8000
# DL3064 flags the word TOKEN in the name; the value is a directory path, not a credential.
# hadolint ignore=DL3064
ENV OPERA_TOKEN_CACHE_DIR=/var/cache/opera-cloud-mcp
WORKDIR /app
# The MCP Registry checks that an OCI package names the server it is listed as (server.json).
LABEL io.modelcontextprotocol.server.name="io.github.opera-cloud-mcp/opera-cloud-mcp"
USER ${APP_UID}:${APP_UID}
EXPOSE 8000
# /live answers from the process alone (never OHIP), so a slow OHIP cannot get the container restarted.
# urlopen raises on any non-2xx answer or refused connection, which makes the exit status non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('OPERA_PORT', '8000') + '/live', timeout=4)"]
# Exec form: the server (uvicorn inside) is PID 1 and receives SIGTERM itself, then drains for
# OPERA_GRACEFUL_SHUTDOWN_TIMEOUT seconds.
CMD ["opera-cloud-mcp", "--host", "0.0.0.0"]
