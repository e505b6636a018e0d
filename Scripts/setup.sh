#!/usr/bin/env bash
# Idempotent set-up for inferline: installs the system libraries and fonts the build and the charts need,
# then builds the package. Both README commands (make report, make test) run this first.
#   Scripts/setup.sh            install what is missing, then `swift build`
#   Scripts/setup.sh --no-build install only
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: C headers for the system-library targets, pkg-config to find them, fonts for chart text,
# Chromium, which the tests use to render a report the way a reader's browser does, and poppler-utils, which
# reads back the PDF the browser prints.
packages=(libcairo2-dev libpng-dev libxml2-dev zlib1g-dev libssl-dev pkg-config fonts-dejavu-core chromium poppler-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "setup: install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# Python packages the tests check exports with (Scripts/validate-export.py): Kubernetes' OpenAPI schemas
# (kubernetes-validate), Triton's generated ModelConfig message (tritonclient, without its grpc extra, and
# protobuf to read it), KServe's generated models (kserve and the kubernetes client, without their
# dependencies: only the model classes are loaded), Ray Serve's config schema (ray[serve], about 100 MB), and
# jsonschema for KEDA's ScaledObjects (kubernetes-validate depends on it too); and the OpenTelemetry Python SDK
# with its OTLP encoder, which writes the traces the span reader's tests read (Scripts/otel-spans.py).
python_ok() {
  python3 -c "import kubernetes_validate, jsonschema, yaml, google.protobuf, tritonclient, dateutil, six, urllib3, markdown_it" 2>/dev/null &&
    python3 -c "import opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.common.trace_encoder" 2>/dev/null &&
    python3 -c "from ray.serve.schema import ServeDeploySchema" 2>/dev/null &&
    python3 -c "import importlib.util as u, sys; sys.exit(0 if u.find_spec('kserve') and u.find_spec('kubernetes') else 1)" 2>/dev/null
}
if command -v python3 >/dev/null && ! python_ok; then
  echo "setup: installing the Python packages the export tests use" >&2
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
    "kubernetes-validate==1.37.0" jsonschema "protobuf>=6.30,<7" pyyaml "markdown-it-py==4.3.0" \
      "opentelemetry-sdk==1.45.2" "opentelemetry-exporter-otlp-proto-common==1.45.2" >&2 &&
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore python-dateutil six urllib3 \
      "ray[serve]==2.60.0" >&2 &&
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps \
      "tritonclient==2.73.0" "kserve==0.21.0" "kubernetes==31.0.0" >&2 ||
    { echo "setup: pip could not install kubernetes-validate, protobuf, tritonclient, kserve, kubernetes, markdown-it-py, opentelemetry-sdk and ray[serve]; install them by hand" >&2; exit 1; }
fi

if [ "${1:-}" != "--no-build" ]; then
  # shellcheck disable=SC2086
  swift build ${SWIFT_BUILD_FLAGS:-} >&2 || { echo "setup: swift build failed; the messages above say where" >&2; exit 1; }
fi
