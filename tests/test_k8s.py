"""deploy/k8s (Kustomize), checked offline: rendered with kustomize, every Kubernetes
resource validated with kubeconform against the Kubernetes API's JSON schemas, and the
custom resources (KEDA ScaledObject, Strimzi KafkaTopic), which those schemas do not
cover, checked field by field here. Then the manifests are held to the code: topics to
pulse_shared.topics, consumer groups and settings to the services' own.

The tools and the schemas are installed into .run/tools by deploy/local/install.sh
(`make test` runs it), so nothing is downloaded here.
"""

from __future__ import annotations

import atexit
import base64
import functools
import importlib
import ipaddress
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from secrets import token_urlsafe
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url

from pulse_aggregator.consumer import CONSUMED_TOPICS
from pulse_aggregator.settings import Settings as AggregatorSettings
from pulse_ingest_linkedin.settings import Settings as LinkedInSettings
from pulse_ingest_meta.settings import Settings as MetaSettings
from pulse_ingest_twitter.settings import Settings as TwitterSettings
from pulse_platform_sim.settings import Settings as SimSettings
from pulse_query_api.settings import Settings as QueryApiSettings
from pulse_shared.http_auth import Authenticator
from pulse_shared.kafka import topic_configs
from pulse_shared.permissions import (
    INGRESS,
    INTERNET,
    KAFKA,
    POSTGRES,
    REDIS,
    SERVICES,
    SMTP,
    KafkaAcl,
    arrows,
    kafka_acls,
    kafka_principals,
    port_of,
)
from pulse_shared.settings import PulseSettings
from pulse_shared.topics import POSTS_PUBLISHED, REFRESH_REQUESTED, TOPICS, dlq

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
TOOLS = Path(os.environ.get("PULSE_RUN_DIR", ROOT / ".run")) / "tools"
KUSTOMIZE = TOOLS / "bin" / "kustomize"
KUBECONFORM = TOOLS / "bin" / "kubeconform"
SCHEMAS = TOOLS / "kubernetes-json-schema"

OVERLAYS = ("base", "dev", "production")
CUSTOM_KINDS = {
    "ScaledObject": "keda.sh/v1alpha1",
    "KafkaTopic": "kafka.strimzi.io/v1beta2",
    "KafkaUser": "kafka.strimzi.io/v1beta2",
}
IMAGE_UID = 10001  # every Pulse image runs as this numeric user (the Dockerfiles' USER)

# DESIGN.md, "Running it": each Deployment's port.
PORTS = {
    "query-api": 8000,
    "aggregator": 8100,
    "ingest-linkedin": 8101,
    "ingest-twitter": 8102,
    "ingest-meta": 8103,
    "platform-sim": 8200,
    "dashboard": 8080,
    "workspace": 8400,
    "reporter": 8500,
}
SIMULATOR = "platform-sim"
# The settings class each Python Deployment reads its PULSE_* environment with.
SETTINGS: dict[str, type[BaseSettings]] = {
    "aggregator": AggregatorSettings,
    "query-api": QueryApiSettings,
    "ingest-linkedin": LinkedInSettings,
    "ingest-twitter": TwitterSettings,
    "ingest-meta": MetaSettings,
}
INGEST = ("ingest-linkedin", "ingest-twitter", "ingest-meta")
# Pulse's access tokens: signed by the workspace, checked against its published keys.
WORKSPACE_JWKS = f"http://workspace:{port_of('workspace')}/.well-known/jwks.json"
WORKSPACE_ISSUER = "pulse-workspace"
# The aggregator may not outgrow the partitions of the topics it consumes.
AGGREGATOR_MAX = min(spec.partitions for spec in TOPICS if spec.name in CONSUMED_TOPICS)
DLQ_RETENTION_MS = 30 * 24 * 3600 * 1000

Resource = dict[str, Any]


def _tool(path: Path) -> Path:
    if not path.exists():
        pytest.fail(
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} is missing: "
            "run `make test`, which installs it (deploy/local/install.sh)"
        )
    return path


def _schema_dir() -> Path:
    found = sorted(SCHEMAS.glob("v*-standalone-strict")) if SCHEMAS.is_dir() else []
    if len(found) != 1:
        pytest.fail(
            f"no Kubernetes JSON schemas in {SCHEMAS}: run `make test`, which installs "
            "them (deploy/local/install.sh)"
        )
    return found[0]


@functools.cache
def _tree() -> Path:
    """deploy/k8s, copied where production's secret files can be made from the committed
    examples (the real ones are never committed, and never read by the tests), each
    CHANGE-ME filled in as an operator would: a fresh random value (base64url of 32 bytes,
    the shape of a key; the workspace refuses the example's own, see below)."""
    scratch = tempfile.mkdtemp(prefix="pulse-k8s-")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    copy = Path(scratch) / "k8s"
    secrets = Path("overlays", "production", "secrets")

    def real_secrets(folder: str, names: list[str]) -> set[str]:
        if Path(folder).resolve() != (K8S / secrets).resolve():
            return set()
        return {n for n in names if n.endswith(".env")}

    shutil.copytree(K8S, copy, ignore=real_secrets)
    for example in (copy / secrets).glob("*.env.example"):
        text = example.read_text(encoding="utf-8")
        filled = re.sub("CHANGE-ME", lambda _: random_secret(), text)
        example.with_suffix("").write_text(filled, encoding="utf-8")
    return copy


def random_secret() -> str:
    return token_urlsafe(32)


def _build(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_tool(KUSTOMIZE)), "build", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@functools.cache
def _rendered(overlay: str) -> tuple[str, tuple[Resource, ...]]:
    path = _tree() / ("base" if overlay == "base" else f"overlays/{overlay}")
    built = _build(path)
    assert built.returncode == 0, f"kustomize build {overlay} failed:\n{built.stderr}"
    docs = tuple(d for d in yaml.safe_load_all(built.stdout) if d)
    return built.stdout, docs


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def resources(overlay: str, kind: str | None = None) -> list[Resource]:
    return [r for r in _rendered(overlay)[1] if kind is None or r["kind"] == kind]


def named(overlay: str, kind: str, name: str) -> Resource:
    found = [r for r in resources(overlay, kind) if r["metadata"]["name"] == name]
    assert len(found) == 1, f"{overlay}: expected one {kind} {name}, found {len(found)}"
    return found[0]


def generated(overlay: str, kind: str, name: str) -> Resource:
    """A ConfigMap or Secret by its generator name (the rendered one has a hash suffix)."""
    found = [
        r
        for r in resources(overlay, kind)
        if re.fullmatch(rf"{re.escape(name)}-[a-z0-9]{{10}}", r["metadata"]["name"])
    ]
    assert len(found) == 1, f"{overlay}: expected one generated {kind} {name}"
    return found[0]


def secret_data(secret: Resource) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


def container(deployment: Resource) -> Resource:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, deployment["metadata"]["name"]
    result: Resource = containers[0]
    return result


def environment(overlay: str, workload: Resource) -> dict[str, str]:
    """The environment the workload's container gets: envFrom sources, then env."""
    by_name = {
        r["metadata"]["name"]: r for r in resources(overlay) if r["kind"] in ("ConfigMap", "Secret")
    }
    spec = container(workload)
    env: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        if "configMapRef" in source:
            env.update(by_name[source["configMapRef"]["name"]].get("data", {}))
        else:
            env.update(secret_data(by_name[source["secretRef"]["name"]]))
    for item in spec.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:  # a key of a Secret another controller writes (Strimzi's users')
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = f"secret:{ref['name']}/{ref['key']}"
    return env


# --- the Kubernetes resources, against the API's schemas -------------------------------


def test_every_resource_is_valid_for_the_kubernetes_api(overlay: str) -> None:
    text, docs = _rendered(overlay)
    schema_dir = _schema_dir()
    version = schema_dir.name.removeprefix("v").removesuffix("-standalone-strict")
    run = subprocess.run(
        [
            str(_tool(KUBECONFORM)),
            # Unknown fields and duplicate keys are errors, not silently dropped.
            "-strict",
            "-kubernetes-version",
            version,
            # Only this local location: no schema is fetched, and a kind without a schema
            # fails rather than passing unchecked.
            "-schema-location",
            f"{SCHEMAS}/{{{{ .NormalizedKubernetesVersion }}}}-standalone{{{{ .StrictSuffix }}}}"
            "/{{ .ResourceKind }}{{ .KindSuffix }}.json",
            # The custom resources: checked by the tests below.
            "-skip",
            ",".join(CUSTOM_KINDS),
            "-output",
            "json",
            "-summary",
            "-",
        ],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"kubeconform on {overlay}:\n{run.stdout}{run.stderr}"
    summary = json.loads(run.stdout)["summary"]
    custom = sum(1 for d in docs if d["kind"] in CUSTOM_KINDS)
    assert summary == {"valid": len(docs) - custom, "invalid": 0, "errors": 0, "skipped": custom}


def test_every_resource_is_in_the_pulse_namespace(overlay: str) -> None:
    for r in resources(overlay):
        if r["kind"] != "Namespace":
            assert r["metadata"].get("namespace") == "pulse", (r["kind"], r["metadata"]["name"])


# --- the custom resources, which no Kubernetes schema covers --------------------------


def test_scaled_objects_have_the_fields_keda_requires(overlay: str) -> None:
    deployments = {d["metadata"]["name"] for d in resources(overlay, "Deployment")}
    scaled = resources(overlay, "ScaledObject")
    assert scaled
    for so in scaled:
        name = so["metadata"]["name"]
        assert so["apiVersion"] == CUSTOM_KINDS["ScaledObject"]
        spec = so["spec"]
        assert spec["scaleTargetRef"]["name"] in deployments, name
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"], name
        assert spec["triggers"], name
        for trigger in spec["triggers"]:
            assert trigger["type"] == "kafka", name
            metadata = trigger["metadata"]
            assert {"bootstrapServers", "consumerGroup", "topic", "lagThreshold"} <= set(metadata)
            # KEDA's trigger metadata is a map of strings: a bare YAML number is refused.
            assert all(isinstance(v, str) for v in metadata.values()), (name, metadata)
            assert int(metadata["lagThreshold"]) > 0


def test_kafka_topics_have_the_fields_strimzi_requires(overlay: str) -> None:
    topics = resources(overlay, "KafkaTopic")
    assert topics
    for topic in topics:
        name = topic["metadata"]["name"]
        assert topic["apiVersion"] == CUSTOM_KINDS["KafkaTopic"]
        # The Topic Operator only manages topics labelled with its Kafka cluster.
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "pulse", name
        spec = topic["spec"]
        for field in ("partitions", "replicas"):
            assert isinstance(spec[field], int), (name, field)
            assert spec[field] >= 1, (name, field)
        assert isinstance(spec["config"], dict), name


# --- the workloads ----------------------------------------------------------------------


def test_every_deployment_is_probed_limited_non_root_and_disruption_budgeted(
    overlay: str,
) -> None:
    budgets = [
        p["spec"]["selector"]["matchLabels"] for p in resources(overlay, "PodDisruptionBudget")
    ]
    services = {s["metadata"]["name"]: s for s in resources(overlay, "Service")}
    for deployment in resources(overlay, "Deployment"):
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        c = container(deployment)
        # The probes hit the container's own port, on the design's paths.
        port = PORTS[name]
        assert c["ports"] == [{"name": "http", "containerPort": port}], name
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, name
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name
        for kind in ("requests", "limits"):
            assert set(c["resources"][kind]) == {"cpu", "memory"}, (name, kind)
        _assert_locked_down(name, pod)
        # A PodDisruptionBudget and a Service select it, on the design's port.
        assert any(b.items() <= labels.items() for b in budgets), f"{name}: no PodDisruptionBudget"
        assert services[name]["spec"]["selector"].items() <= labels.items(), name
        assert [p["port"] for p in services[name]["spec"]["ports"]] == [port], name


def _assert_locked_down(name: str, pod: Resource) -> None:
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True, name
    assert security["runAsUser"] == IMAGE_UID, name
    assert pod["automountServiceAccountToken"] is False, name
    for c in pod["containers"]:
        assert c["securityContext"]["allowPrivilegeEscalation"] is False, name
        assert c["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], name
        assert c["securityContext"].get("runAsUser", IMAGE_UID) == IMAGE_UID, name


def test_the_deployments_are_the_designs(overlay: str) -> None:
    names = {d["metadata"]["name"] for d in resources(overlay, "Deployment")}
    expected = set(PORTS) if overlay == "dev" else set(PORTS) - {SIMULATOR}
    assert names == expected


def test_production_runs_no_simulator_and_pinned_images() -> None:
    everything = resources("production")
    assert not [r for r in everything if SIMULATOR in r["metadata"]["name"]]
    assert SIMULATOR not in _rendered("production")[0]
    workloads = resources("production", "Deployment") + resources("production", "Job")
    for workload in workloads:
        image = container(workload)["image"]
        repository, _, tag = image.rpartition(":")
        assert "/" in repository, f"{image}: not from a registry"
        assert tag not in ("", "dev", "latest"), f"{image}: not a release tag"


def test_production_configuration_and_secrets() -> None:
    common = generated("production", "ConfigMap", "pulse-common")["data"]
    assert common["PULSE_ENVIRONMENT"] == "production"
    # Tokens checked against the workspace's keys (its Service, which only the arrows of
    # the table reach), not a shared secret.
    for name in ("query-api", "reporter", *INGEST):
        env = environment("production", named("production", "Deployment", name))
        assert env["PULSE_JWT_JWKS_URL"] == WORKSPACE_JWKS, name
        assert env["PULSE_JWT_ISSUER"] == WORKSPACE_ISSUER, name
        assert "PULSE_JWT_SECRET" not in env, name
    # The identity provider and the mail server: the organisation's, over TLS.
    for name in ("dashboard", "workspace"):
        env = environment("production", named("production", "Deployment", name))
        assert env["PULSE_OIDC_ISSUER"].startswith("https://"), name
    for name in ("workspace", "reporter"):
        env = environment("production", named("production", "Deployment", name))
        assert env["PULSE_SMTP_TLS"] in {"starttls", "tls"}, name
    # Every secret is the production one (from the overlay's files), none of base's.
    for secret in resources("production", "Secret"):
        for key, value in secret_data(secret).items():
            assert "PLACEHOLDER" not in value, (secret["metadata"]["name"], key)


def test_production_needs_its_secret_files() -> None:
    """The real secrets are never committed: without them production does not build."""
    bare = _tree().parent / "without-secrets"
    if not bare.exists():
        shutil.copytree(_tree(), bare)
        for made in (bare / "overlays/production/secrets").glob("*.env"):
            made.unlink()
    built = _build(bare / "overlays/production")
    assert built.returncode != 0
    assert re.search(r"secrets/[\w-]+\.env", built.stderr), built.stderr


def test_the_workspace_refuses_the_example_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A production secret file copied from its example and not filled in does not run:
    the workspace takes no CHANGE-ME for a key (a published key would sign anyone in)."""
    example = K8S / "overlays/production/secrets/workspace.env.example"
    values = dict(
        line.split("=", 1)
        for line in example.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    assert values["PULSE_WORKSPACE_SIGNING_KEYS"] == "CHANGE-ME"
    for key in list(os.environ):
        if key.startswith("PULSE_"):
            monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match=r"PULSE_WORKSPACE_SIGNING_KEYS|signing key"):
        _settings_of("workspace")()


def _settings_of(name: str) -> type[BaseSettings]:
    """A service's Settings, imported when asked (the workspace's, a newer package)."""
    settings_type: type[BaseSettings] = importlib.import_module(
        f"pulse_{name.replace('-', '_')}.settings"
    ).Settings
    return settings_type


def test_the_services_accept_their_environment(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every PULSE_* variable a Deployment sets is a setting of that service, and the
    service's settings load from it (production: its checks for real keys pass)."""
    refused: set[str] = set()
    for deployment in resources(overlay, "Deployment"):
        name = deployment["metadata"]["name"]
        if name == "dashboard":
            continue  # not a Python service: configured by its own image
        env = environment(overlay, deployment)
        for key in list(os.environ):
            if key.startswith("PULSE_"):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        if name == SIMULATOR:
            known = {f"PULSE_{f.upper()}" for f in PulseSettings.model_fields}
            known |= {f"PULSE_SIM_{f.upper()}" for f in SimSettings.model_fields}
            assert set(env) <= known, set(env) - known
            SimSettings()
            continue
        settings_type = SETTINGS[name] if name in SETTINGS else _settings_of(name)
        known = {f"PULSE_{f.upper()}" for f in settings_type.model_fields}
        assert set(env) <= known, f"{name}: not settings of the service: {set(env) - known}"
        try:
            settings = settings_type()
            if isinstance(settings, QueryApiSettings):
                Authenticator.check_configuration(settings)
        except (ValidationError, RuntimeError):
            # The base alone is production with placeholder secrets: refused, never run.
            assert overlay == "base", f"{name} refuses the {overlay} overlay's configuration"
            refused.add(name)
    if overlay == "base":
        assert "query-api" in refused


# --- scaling ------------------------------------------------------------------------------


def test_query_api_is_scaled_on_cpu(overlay: str) -> None:
    (hpa,) = resources(overlay, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "query-api",
    }
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Resource"
    assert metric["resource"]["name"] == "cpu"
    assert "replicas" not in named(overlay, "Deployment", "query-api")["spec"]


def test_consumers_are_scaled_on_their_own_groups_lag(overlay: str) -> None:
    bootstrap = generated(overlay, "ConfigMap", "pulse-common")["data"][
        "PULSE_KAFKA_BOOTSTRAP_SERVERS"
    ]
    expected = {
        "aggregator": (AggregatorSettings().consumer_group, set(CONSUMED_TOPICS)),
        **{name: (_ingest_group(name), {POSTS_PUBLISHED, REFRESH_REQUESTED}) for name in INGEST},
    }
    scaled = {so["spec"]["scaleTargetRef"]["name"]: so for so in resources(overlay, "ScaledObject")}
    assert set(scaled) == set(expected)
    for name, (group, topics) in expected.items():
        triggers = [t["metadata"] for t in scaled[name]["spec"]["triggers"]]
        assert {t["consumerGroup"] for t in triggers} == {group}, name
        assert {t["topic"] for t in triggers} == topics, name
        assert {t["bootstrapServers"] for t in triggers} == {bootstrap}, name
        # KEDA owns the replica count: a Deployment's own would be reset by every apply.
        assert "replicas" not in named(overlay, "Deployment", name)["spec"], name
    assert scaled["aggregator"]["spec"]["maxReplicaCount"] <= AGGREGATOR_MAX


def _ingest_group(service: str) -> str:
    """The consumer group an ingest service joins: the name its app.py gives
    build_ingest_app (pulse_shared.ingest.app uses it as the group id)."""
    package = "pulse_" + service.replace("-", "_")
    source = (ROOT / "services" / service / "src" / package / "app.py").read_text()
    match = re.search(r'build_ingest_app\(\s*"([^"]+)"', source)
    assert match, f"{service}: no build_ingest_app call"
    return match.group(1)


# --- topics and migrations: the same as docker-compose's `migrate` ---------------------------


def test_kafka_topics_are_the_designs(overlay: str) -> None:
    declared = {
        t["spec"].get("topicName", t["metadata"]["name"]): t
        for t in resources(overlay, "KafkaTopic")
    }
    expected: dict[str, tuple[int, dict[str, str]]] = {}
    for spec in TOPICS:
        expected[spec.name] = (spec.partitions, topic_configs(spec))
        dlq_config = {"cleanup.policy": "delete", "retention.ms": str(DLQ_RETENTION_MS)}
        expected[dlq(spec.name)] = (spec.partitions, dlq_config)
    assert set(declared) == set(expected)
    for name, (partitions, config) in expected.items():
        spec = declared[name]["spec"]
        assert spec["partitions"] == partitions, name
        actual = {k: str(v) for k, v in spec["config"].items() if k != "min.insync.replicas"}
        assert actual == config, name
        if overlay == "production":
            # One broker may go without losing an acknowledged (acks=all) write.
            assert spec["replicas"] == 3, name
            assert spec["config"]["min.insync.replicas"] == 2, name


def test_kafka_users_are_the_permissions_tables(overlay: str) -> None:
    """One Strimzi KafkaUser per principal (the simulator's in dev only), SCRAM, with the
    ACLs of kafka_acls(); each Deployment logs in as its own, with the password Strimzi
    writes into the user's Secret, over TLS trusting the cluster's CA."""
    users = {u["metadata"]["name"]: u for u in resources(overlay, "KafkaUser")}
    expected = {p for p in kafka_principals() if not (p in SERVICES and SERVICES[p].dev_only)} | (
        {SIMULATOR} if overlay == "dev" else set()
    )
    assert set(users) == expected
    operations = {"Read": "read", "Write": "write", "All": "all"}
    declared = set()
    for name, user in users.items():
        assert user["apiVersion"] == CUSTOM_KINDS["KafkaUser"]
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == "pulse"
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}, name
        assert user["spec"]["authorization"]["type"] == "simple", name
        for acl in user["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            (operation,) = acl["operations"]
            declared.add(
                KafkaAcl(
                    name,
                    resource["type"],
                    resource["name"],
                    operations[operation],
                    resource["patternType"] == "prefix",
                )
            )
    assert declared == {a for a in kafka_acls("") if a.principal in expected}
    for deployment in resources(overlay, "Deployment"):
        name = deployment["metadata"]["name"]
        env = environment(overlay, deployment)
        if name not in kafka_principals():
            assert "PULSE_KAFKA_USERNAME" not in env, name
            continue
        assert env["PULSE_KAFKA_USERNAME"] == name
        assert env["PULSE_KAFKA_PASSWORD"] == f"secret:{name}/password"
        cafile = env["PULSE_KAFKA_SSL_CAFILE"]
        mounts = {m["mountPath"] for m in container(deployment)["volumeMounts"]}
        assert str(Path(cafile).parent) in mounts, name
        assert "PULSE_KAFKA_SECURITY_PROTOCOL" not in env, "TLS: the default, SASL_SSL"


def test_migrations_run_as_docker_compose_runs_them(overlay: str) -> None:
    (job,) = resources(overlay, "Job")
    c = container(job)
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    compose_steps = compose["services"]["migrate"]["command"][-1].split("&&")
    assert c["command"] == compose_steps[0].split()
    # The aggregator's image (which carries shared/alembic.ini) and its owner role.
    aggregator = named(overlay, "Deployment", "aggregator")
    assert c["image"] == container(aggregator)["image"]
    job_env = environment(overlay, job)
    assert job_env["PULSE_DATABASE_URL"] == environment(overlay, aggregator)["PULSE_DATABASE_URL"]
    assert job_env["PULSE_DATABASE_READER_ROLE"] == "pulse_reader"
    assert set(c["resources"]["limits"]) == {"cpu", "memory"}
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    _assert_locked_down("migrate", job["spec"]["template"]["spec"])


# --- NetworkPolicies: exactly the arrows of pulse_shared.permissions -------------------------

# What the policies are evaluated against: every workload of the overlay, the servers the
# cluster provides (with the labels network-policies.yaml documents) and what lies outside.
SERVER_PODS: dict[str, tuple[Resource, dict[str, int]]] = {
    POSTGRES: ({"app.kubernetes.io/name": "postgres"}, {"postgres": 5432}),
    REDIS: ({"app.kubernetes.io/name": "redis"}, {"redis": 6379}),
    KAFKA: (
        {
            "strimzi.io/cluster": "pulse",
            "strimzi.io/kind": "Kafka",
            "strimzi.io/name": "pulse-kafka",
        },
        {"tcp-clients": 9092},
    ),
}
NAMESPACE_OF = {"ingress": "ingress-nginx", "keda": "keda", "dns": "kube-system"}
OUTSIDE: dict[str, tuple[Resource, dict[str, int]]] = {
    INGRESS: ({"app.kubernetes.io/name": "ingress-nginx"}, {}),
    "keda": ({"app": "keda-operator"}, {}),
    "dns": ({"k8s-app": "kube-dns"}, {"dns": 53}),
}
PUBLIC_ADDRESS = "93.184.216.34"  # the internet: an address outside every private range


@dataclass(frozen=True)
class Endpoint:
    name: str
    namespace: str | None  # None: outside the cluster (an address)
    labels: Resource
    ports: dict[str, int]
    address: str = ""


def endpoints(overlay: str) -> dict[str, Endpoint]:
    found: dict[str, Endpoint] = {}
    for workload in [*resources(overlay, "Deployment"), *resources(overlay, "Job")]:
        template = workload["spec"]["template"]
        ports = {p.get("name", str(p["containerPort"])): p["containerPort"]
                 for p in container(workload).get("ports", [])}  # fmt: skip
        name = workload["metadata"]["name"]
        found[name] = Endpoint(name, "pulse", template["metadata"]["labels"], ports)
    for name, (labels, ports) in SERVER_PODS.items():
        found[name] = Endpoint(name, "pulse", labels, ports)
    for name, (labels, ports) in OUTSIDE.items():
        found[name] = Endpoint(name, NAMESPACE_OF[name], labels, ports)
    found[INTERNET] = Endpoint(INTERNET, None, {}, {"https": 443}, PUBLIC_ADDRESS)
    # The organisation's mail server: outside the cluster too, submission port.
    found[SMTP] = Endpoint(SMTP, None, {}, {"submission": 587}, PUBLIC_ADDRESS)
    return found


def _selects(selector: Resource | None, labels: Resource) -> bool:
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        held = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not held:
            return False
    return True


def _peer_matches(peer: Resource, endpoint: Endpoint) -> bool:
    if "ipBlock" in peer:
        if endpoint.namespace is not None:
            return False  # pods are reached by selectors; ipBlocks are for what lies outside
        address = ipaddress.ip_address(endpoint.address)
        block = peer["ipBlock"]

        def within(cidr: str) -> bool:
            network = ipaddress.ip_network(cidr)
            return address.version == network.version and address in network

        return within(block["cidr"]) and not any(within(c) for c in block.get("except", []))
    if endpoint.namespace is None:
        return False
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": endpoint.namespace}
        if not _selects(peer["namespaceSelector"], namespace_labels):
            return False
    elif endpoint.namespace != "pulse":
        return False
    return _selects(peer.get("podSelector"), endpoint.labels)


def _port_matches(rule: Resource, target: Endpoint, port: int, protocol: str) -> bool:
    if not rule.get("ports"):
        return True
    for item in rule["ports"]:
        if item.get("protocol", "TCP") != protocol:
            continue
        wanted = item.get("port")
        if wanted is None:
            return True
        number = target.ports.get(wanted) if isinstance(wanted, str) else wanted
        if number is not None and number <= port <= item.get("endPort", number):
            return True
    return False


def _side_allows(
    policies: list[Resource],
    kind: str,
    source: Endpoint,
    target: Endpoint,
    port: int,
    protocol: str = "TCP",
) -> bool:
    """Whether the policies (all in namespace pulse) let ``source`` open ``port`` on
    ``target`` on one side: the source's Egress or the target's Ingress."""
    pod, peer, peers_key = (source, target, "to") if kind == "Egress" else (target, source, "from")
    if pod.namespace != "pulse":
        return True  # not isolated by these policies
    isolating = [
        p for p in policies
        if kind in p["spec"].get("policyTypes", ["Ingress"])
        and _selects(p["spec"]["podSelector"], pod.labels)
    ]  # fmt: skip
    if not isolating:
        return True
    return any(
        (not rule.get(peers_key) or any(_peer_matches(q, peer) for q in rule[peers_key]))
        and _port_matches(rule, target, port, protocol)
        for p in isolating
        for rule in p["spec"].get(kind.lower(), [])
    )


def _allows(
    policies: list[Resource], source: Endpoint, target: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """Both sides, as Kubernetes combines them."""
    return all(
        _side_allows(policies, kind, source, target, port, protocol)
        for kind in ("Egress", "Ingress")
    )


def test_network_policies_deny_by_default(overlay: str) -> None:
    policies = resources(overlay, "NetworkPolicy")
    (deny,) = [p for p in policies if p["metadata"]["name"] == "default-deny"]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_network_policies_allow_exactly_the_arrows_of_the_permissions_table(overlay: str) -> None:
    """On each side: a workload's egress reaches exactly its arrows' targets, a workload's
    (or server's) ingress admits exactly its arrows' sources, each on its arrow's port."""
    policies = resources(overlay, "NetworkPolicy")
    every = endpoints(overlay)
    expected = {(a.source, a.target, a.port) for a in arrows(dev=overlay == "dev")}
    assert {s for s, _, _ in expected} | {t for _, t, _ in expected} <= set(every), (
        "an arrow names what the overlay does not run"
    )
    design = {*SERVICES, POSTGRES, REDIS, KAFKA, INTERNET, SMTP, INGRESS}
    for kind, own in (("Egress", 0), ("Ingress", 1)):
        allowed, judged = set(), set()
        for pair in itertools.permutations(sorted(set(every) & design), 2):
            source, target = every[pair[0]], every[pair[1]]
            if (source, target)[own].namespace != "pulse":
                continue  # that side is not these policies' business
            for port in {*target.ports.values(), 22, 8443}:
                judged.add((source.name, target.name, port))
                if _side_allows(policies, kind, source, target, port):
                    allowed.add((source.name, target.name, port))
        assert allowed - expected == set(), f"{kind} allowed beyond the table"
        assert (expected & judged) - allowed == set(), f"{kind}: the table's arrows not allowed"


def test_network_policies_let_every_pod_resolve_names_and_keda_read_kafka(overlay: str) -> None:
    policies = resources(overlay, "NetworkPolicy")
    every = endpoints(overlay)
    for name, endpoint in every.items():
        if endpoint.namespace == "pulse" and name in SERVICES:
            for protocol in ("UDP", "TCP"):
                assert _allows(policies, endpoint, every["dns"], 53, protocol), (name, protocol)
            assert not _allows(policies, endpoint, every["dns"], 80), name
    assert _allows(policies, every["keda"], every[KAFKA], 9092)
    assert not _allows(policies, every["keda"], every[POSTGRES], 5432)


def test_every_service_connects_with_its_own_credentials(overlay: str) -> None:
    """The database role and the Redis user of each workload are its row's in
    pulse_shared.permissions (the Redis user also names whose password the secret holds)."""
    workloads = [*resources(overlay, "Deployment"), *resources(overlay, "Job")]
    for workload in workloads:
        name = workload["metadata"]["name"]
        row, env = SERVICES[name], environment(overlay, workload)
        database = env.get("PULSE_DATABASE_URL")
        if row.database_role is None:
            assert database is None, f"{name} needs no database, yet has a URL"
        else:
            assert database is not None, name
            assert make_url(database).username == row.database_role, name
        redis = env.get("PULSE_REDIS_URL")
        if row.redis_user is None:
            continue  # (the migrate Job reads the aggregator's secret and uses no Redis)
        assert redis is not None, f"{name} has no Redis URL"
        parsed = urlsplit(redis)
        assert parsed.username == row.redis_user, name
        assert parsed.password, f"{name}: no Redis password"


# What the dashboard's server reads (the teams contract; it is not a Python settings class
# of the workspace, so checked here by name), and what of it and of the workspace's is secret.
DASHBOARD_SETTINGS = {
    "PULSE_QUERY_API_URL": f"http://query-api:{port_of('query-api')}",
    "PULSE_WORKSPACE_URL": f"http://workspace:{port_of('workspace')}",
    "PULSE_REPORTER_URL": f"http://reporter:{port_of('reporter')}",
    **{f"PULSE_{n.upper().replace('-', '_')}_URL": f"http://{n}:{port_of(n)}" for n in INGEST},
}
SECRET_SETTINGS = {
    "dashboard": {"PULSE_OIDC_CLIENT_SECRET", "PULSE_REDIS_URL", "PULSE_DASHBOARD_SESSION_KEYS"},
    "workspace": {
        "PULSE_DATABASE_URL", "PULSE_REDIS_URL", "PULSE_WORKSPACE_SIGNING_KEYS",
        "PULSE_WORKSPACE_OPERATOR_TOKEN", "PULSE_SMTP_USERNAME", "PULSE_SMTP_PASSWORD",
        "PULSE_REPORTER_SERVICE_TOKEN",
    },
    "reporter": {
        "PULSE_DATABASE_URL", "PULSE_REDIS_URL", "PULSE_REPORTER_SERVICE_TOKEN",
        "PULSE_REPORTER_LINK_KEYS", "PULSE_SMTP_USERNAME", "PULSE_SMTP_PASSWORD",
    },
}  # fmt: skip


def _secret_keys(overlay: str, workload: Resource) -> set[str]:
    """The keys the workload's container takes from Secrets (envFrom)."""
    secrets = {r["metadata"]["name"]: r for r in resources(overlay, "Secret")}
    keys: set[str] = set()
    for source in container(workload).get("envFrom", []):
        if "secretRef" in source:
            keys |= set(secret_data(secrets[source["secretRef"]["name"]]))
    return keys


def test_the_dashboard_and_the_workspace_share_one_sign_in_and_keep_secrets_secret(
    overlay: str,
) -> None:
    dashboard = named(overlay, "Deployment", "dashboard")
    workspace = named(overlay, "Deployment", "workspace")
    env = {
        "dashboard": environment(overlay, dashboard),
        "workspace": environment(overlay, workspace),
    }
    for key, value in DASHBOARD_SETTINGS.items():
        assert env["dashboard"].get(key) == value, key
    for key in ("PULSE_OIDC_ISSUER", "PULSE_OIDC_CLIENT_ID"):
        assert env["dashboard"][key] == env["workspace"][key], key
    assert env["dashboard"]["PULSE_DASHBOARD_PUBLIC_URL"] == env["workspace"]["PULSE_DASHBOARD_URL"]
    for name, workload in (("dashboard", dashboard), ("workspace", workspace)):
        assert SECRET_SETTINGS[name] <= set(env[name]), name
        assert _secret_keys(overlay, workload) == SECRET_SETTINGS[name], name


def test_the_reporter_shares_its_token_with_the_workspace_and_keeps_secrets_secret(
    overlay: str,
) -> None:
    """One Secret holds the reporter's bearer to the workspace's service route, and both read
    it; the reporter calls query-api and the workspace by their Services, sends links that
    lead to the dashboard, and takes its credentials and keys from Secrets only."""
    reporter = named(overlay, "Deployment", "reporter")
    workspace = named(overlay, "Deployment", "workspace")
    env = environment(overlay, reporter)
    token = "PULSE_REPORTER_SERVICE_TOKEN"
    assert env[token] == environment(overlay, workspace)[token]
    shared = generated(overlay, "Secret", "reporter-service-token")["metadata"]["name"]
    for workload in (reporter, workspace):
        refs = [s["secretRef"]["name"] for s in container(workload)["envFrom"] if "secretRef" in s]
        assert shared in refs, workload["metadata"]["name"]
    for name in ("query-api", "workspace"):
        key = f"PULSE_{name.upper().replace('-', '_')}_URL"
        assert env[key] == f"http://{name}:{port_of(name)}", key
    dashboard = environment(overlay, named(overlay, "Deployment", "dashboard"))
    assert env["PULSE_DASHBOARD_URL"] == dashboard["PULSE_DASHBOARD_PUBLIC_URL"]
    assert SECRET_SETTINGS["reporter"] <= set(env)
    assert _secret_keys(overlay, reporter) == SECRET_SETTINGS["reporter"]


def test_query_api_trusts_forwarded_addresses_only_from_pods_its_policy_admits(
    overlay: str,
) -> None:
    """query-api trusts X-Forwarded-For from private (pod) addresses; that is safe because
    its NetworkPolicy admits the dashboard's pods and the reporter's (Pulse's own client,
    which names no one else's address) and nothing else."""
    env = environment(overlay, named(overlay, "Deployment", "query-api"))
    trusted = [ipaddress.ip_network(n) for n in json.loads(env["PULSE_TRUSTED_PROXIES"])]
    assert trusted
    assert all(n.is_private for n in trusted)
    admitted = [
        peer
        for policy in resources(overlay, "NetworkPolicy")
        if policy["spec"]["podSelector"].get("matchLabels")
        == {"app.kubernetes.io/name": "query-api"}
        for rule in policy["spec"].get("ingress", [])
        for peer in rule.get("from", [])
    ]
    assert admitted == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}
        for name in ("dashboard", "reporter")
    ]
