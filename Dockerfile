# One image for every service: drcapture, drapply, drappha, drcontrol (and drctl).
#
#   docker build -t oracle-dr:0.1.0 .
#
# Needs Docker Engine 23+ (BuildKit's built-in Dockerfile frontend: COPY --chmod and
# here-documents). The base image is pinned by tag; sites that mirror images pin the
# digest too (docs/OPERATIONS.md, "Images"). The container runs as uid/gid 10001 ("dr").
#
# What each service runs (compose files set these; see deploy/README.md):
#   drcapture run --config /etc/dr/capture.toml    HTTP 8701
#   drapply   run --config /etc/dr/apply.toml      HTTP 8702
#   drappha   run --config /etc/dr/appha.toml      HTTP 8703
#   drcontrol run --config /etc/dr/control.toml    HTTP 8700
# Health check of each: dr-healthcheck http[s]://127.0.0.1:<port>/health

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# ---- build: install the project and its dependencies into a virtual environment ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Capture's compiled core (services/capture/core) is built from source with Debian's own
# Rust: bookworm's cargo/rustc are 1.63, its rustc-web/cargo-web 1.85 (main) or newer
# (bookworm-security); the crate's rust-version is 1.85, so either builds it. Build stage
# only: the runtime image gets the compiled module inside /opt/dr.
RUN apt-get update \
    && apt-get install -y --no-install-recommends cargo-web rustc-web \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/dr
WORKDIR /src
# Every Python package comes from the hashed lock files (requirements/, made by
# scripts/lock.sh): the build tools first, then the runtime dependencies, each file
# checked against its sha256. Two builds of one commit install the same bytes.
COPY requirements/ requirements/
RUN /opt/dr/bin/pip install --require-hashes --no-deps -r requirements/build.lock \
    && /opt/dr/bin/pip install --no-compile --require-hashes --no-deps -r requirements/runtime.lock
# Only what the package builds read (pyproject names README.md as the readme).
COPY pyproject.toml README.md ./
COPY libs/ libs/
COPY services/ services/
# The core first: the project does not list it as a dependency (pip would look for it on
# PyPI); --locked builds exactly Cargo.lock's crate versions. No build isolation and no
# dependencies: the builds use the locked tools and fetch nothing.
RUN PATH="/opt/dr/bin:$PATH" MATURIN_PEP517_ARGS="--locked" /opt/dr/bin/pip install --no-compile --no-deps \
        --no-build-isolation ./services/capture/core \
    && /opt/dr/bin/pip install --no-compile --no-deps --no-build-isolation . \
    && /opt/dr/bin/pip uninstall -y -q maturin \
    && /opt/dr/bin/pip check \
    && /opt/dr/bin/python -m compileall -q -j 0 /opt/dr/lib \
    && /opt/dr/bin/python -c "import drcapture.native" \
    && /opt/dr/bin/drcapture --help >/dev/null \
    && /opt/dr/bin/drapply --help >/dev/null \
    && /opt/dr/bin/drappha --help >/dev/null \
    && /opt/dr/bin/drcontrol --help >/dev/null

# ---- runtime: the virtual environment, a non-root user, state directories ----
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="oracle-dr" \
      org.opencontainers.image.description="Oracle DR: redo capture, Kafka transport, apply, app HA, failover control" \
      org.opencontainers.image.version="0.1.0"
# The state directories exist in the image owned by dr, so a named volume mounted on
# one starts out writable by the service (Docker copies ownership into a new volume).
RUN groupadd --system --gid 10001 dr \
    && useradd --system --uid 10001 --gid dr --home-dir /var/lib/dr --no-create-home \
       --shell /usr/sbin/nologin dr \
    && install -d -o dr -g dr -m 0750 /var/lib/dr /var/lib/drcapture /var/lib/drapply \
       /var/lib/drappha /var/lib/drcontrol \
    && install -d -m 0755 /etc/dr
COPY --from=build /opt/dr /opt/dr
# Container health probe: exit 0 when GET <url> answers 200 (ok or degraded), else 1.
COPY --chmod=0755 <<'EOF' /usr/local/bin/dr-healthcheck
#!/usr/local/bin/python3
"""dr-healthcheck URL: exit 0 when GET URL answers 200, 1 otherwise, 2 on bad usage.

It probes the service inside its own container over loopback, so an https URL is not
checked against the certificate (that names the service's public host, not 127.0.0.1).
"""
import ssl
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].startswith(("http://", "https://")):
        print("usage: dr-healthcheck http[s]://HOST:PORT/health", file=sys.stderr)
        return 2
    url = argv[1]
    context = None
    if url.startswith("https://"):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as answer:
            print(answer.read(4096).decode("utf-8", "replace"))
            return 0 if answer.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"{url}: HTTP {exc.code} {exc.read(4096).decode('utf-8', 'replace')}")
        return 1
    except (OSError, ValueError) as exc:
        print(f"{url}: {exc}")
        return 1


sys.exit(main(sys.argv))
EOF
ENV PATH=/opt/dr/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
WORKDIR /var/lib/dr
EXPOSE 8700 8701 8702 8703
CMD ["drctl", "--help"]
