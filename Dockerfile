# syntax=docker/dockerfile:1
# Realnet in a container: `kubectl exec -it POD -- realnet shell` reaches the same tree.
#
# Two stages: the first turns the source tree into a wheel, the second installs that wheel
# and nothing else, so the image carries neither the sources nor whatever built them.

FROM python:3.11-slim AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Exactly what the wheel is built from. pyproject.toml maps shell, tui, initialization and
# deploy/wordpress (the plugin WordPress sites get) into the realnet package (package-dir),
# so each folder keeps its own path here.
COPY pyproject.toml README.md ./
COPY realnet ./realnet
COPY shell ./shell
COPY tui ./tui
COPY initialization ./initialization
COPY deploy/wordpress ./deploy/wordpress
# Only the project's own wheel (pure Python): its dependencies are resolved once, in the
# final stage, together with the extras. pip fetches the build backend (setuptools, bounded
# in pyproject.toml) into an isolated build environment that is thrown away afterwards.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .


FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    REALNET_HOME=/data \
    REALNET_SERVER_HOST=0.0.0.0

# The wheel, with its PostgreSQL, S3, SQS and Kubernetes extras (the pod's shell mounts the
# cluster it runs in); versions are bounded in pyproject.toml, and every dependency ships
# binary wheels, so this stage needs no compiler. The wheel is bind-mounted from the builder
# rather than copied, so it leaves no layer behind.
# The account matches the Kubernetes manifests (runAsUser/runAsGroup/fsGroup 10001); its home
# is REALNET_HOME, the one place the process writes, left empty (no skeleton dotfiles) so a
# fresh volume starts empty.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    set -- /wheels/realnet-*.whl \
    && pip install --no-cache-dir "$1[postgresql,s3,sqs,kubernetes]" \
    && groupadd --gid 10001 realnet \
    && useradd --no-log-init --uid 10001 --gid 10001 --home-dir /data --no-create-home realnet \
    && mkdir /data \
    && chown 10001:10001 /data

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# `realnet server` serves the HTTP API here (inside the container, on every interface).
EXPOSE 8080
# Docker's own liveness check for `docker run IMAGE server` (Kubernetes uses the manifests'
# probes instead). The slim image has no curl, so the standard library asks; http.client
# ignores any HTTP_PROXY in the environment, which must not carry a loopback request.
# A container running the shell (the default CMD) serves nothing and so reports unhealthy,
# which Docker only reports.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import http.client, os, sys; c = http.client.HTTPConnection('127.0.0.1', int(os.environ.get('REALNET_SERVER_PORT') or 8080), timeout=4); c.request('GET', '/healthz'); sys.exit(0 if c.getresponse().status == 200 else 1)"]
# No entry point: the command is the whole command line, as in `docker run -it IMAGE realnet
# shell`, `docker run IMAGE realnet server` and `kubectl exec -it … -- realnet shell`, and a
# bare `docker run -it IMAGE` opens the shell.
CMD ["realnet", "shell"]
