# argo-artifact-driver: one image serving S3, GCS, Azure Blob, local disk and SFTP.
# Build:  docker build -t argo-artifact-driver .
# Argo runs it as:  argo-artifact-driver /tmp/artifact-plugins/NAME/socket
FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt ".[all]"

FROM python:3.11-slim
# Non-root by default (Argo runs the plugin next to the argo-server, which is non-root).
RUN useradd --uid 8737 --create-home --home-dir /home/plugin plugin \
    && chmod 1777 /tmp
COPY --from=build /wheels /wheels
COPY constraints.txt /tmp/constraints.txt
# The operator policy for workflow pods (docs/security.md); the argo-server sidecar mounts
# its own over it (examples/argo-server-sidecar-patch.yaml).
COPY examples/policies/workflow-pod.yaml /etc/argo-artifact-driver/policy.yaml
RUN pip install --no-cache-dir --no-index --find-links /wheels -c /tmp/constraints.txt "argo-artifact-driver[all]" \
    && rm -rf /wheels /tmp/constraints.txt
USER 8737
WORKDIR /home/plugin
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    ARGO_ARTIFACT_DRIVER_POLICY=/etc/argo-artifact-driver/policy.yaml
ENTRYPOINT ["argo-artifact-driver"]
