# Runyard server image: `docker build -t runyard .`, then for example
#   docker run -p 5000:5000 -v runyard-data:/data -e RUNYARD_ADMIN_PASSWORD=... runyard
# Multi-stage: the web UI is built with Node.js, the wheel with the build tools, and the final image
# holds only Python, the installed package and a non-root user. See deploy/README.md.

# --- 1. The web UI bundle, built from ui/ with the locked npm packages --------------------------
FROM node:20-bookworm-slim AS ui
WORKDIR /build/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui/ ./
# vite writes the bundle into ../src/runyard/api/ui/bundle (vite.config.ts)
RUN mkdir -p ../src/runyard/api/ui && npm run build

# --- 2. The wheel, with the bundle as package data ----------------------------------------------
FROM python:3.11-slim-bookworm AS wheel
WORKDIR /build
COPY pyproject.toml setup.py MANIFEST.in README.md LICENSE ./
COPY src/ src/
COPY --from=ui /build/src/runyard/api/ui/bundle/ src/runyard/api/ui/bundle/
# The bundle is already built: the package build must not look for npm.
ENV RUNYARD_SKIP_UI_BUILD=1
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- 3. The runtime image ------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin runyard \
    && mkdir -p /data && chown runyard /data
COPY --from=wheel /wheels/ /wheels/
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER runyard
WORKDIR /data
VOLUME ["/data"]
EXPOSE 5000
# Listening on every interface turns authentication on (it cannot be turned off there); set
# RUNYARD_ADMIN_PASSWORD for the first administrator, or read the generated one from the log.
ENV RUNYARD_HOST=0.0.0.0 \
    RUNYARD_PORT=5000 \
    RUNYARD_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('RUNYARD_PORT', '5000'), timeout=2)"]
# SIGTERM (docker stop) drains in-flight requests and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["runyard", "server"]
