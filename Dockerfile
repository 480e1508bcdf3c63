# Realnet in a container: `kubectl exec -it POD -- realnet shell` reaches the same tree.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    REALNET_HOME=/data \
    REALNET_SERVER_HOST=0.0.0.0

WORKDIR /src
COPY pyproject.toml README.md ./
COPY realnet ./realnet
COPY shell ./shell
COPY tui ./tui
COPY initialization ./initialization
# The project itself, with its PostgreSQL, S3, SQS and Kubernetes extras (the pod's shell mounts
# the cluster it runs in); versions are bounded in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[postgresql,s3,sqs,kubernetes]" \
    && useradd --create-home --uid 10001 realnet \
    && mkdir -p /data \
    && chown realnet:realnet /data

USER 10001
WORKDIR /data
VOLUME ["/data"]
# `realnet server` serves the HTTP API here (inside the container, on every interface).
EXPOSE 8080
ENTRYPOINT ["realnet"]
CMD ["shell"]
