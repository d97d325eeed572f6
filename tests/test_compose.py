"""docker-compose.yml, the services' Dockerfiles and the postgres init script, checked offline.

No Docker engine is needed: the compose file is parsed with PyYAML and held to DESIGN.md
("Running it": services, ports, roles; "Least privilege": pulse_shared.permissions' users
and arrows) and to what the code reads (PULSE_* settings, the ASGI modules the images
start). When a `docker compose` CLI is at hand, it validates the file too (`config` needs
no engine).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url

from pulse_shared.db import DATABASE_LOCALE
from pulse_shared.permissions import (
    INTERNET,
    KAFKA_ADMIN,
    REDIS_ADMIN,
    REDIS_USERS,
    REPORTER_ROLE,
    SEED_SECRETS,
    SERVICES,
    SMTP,
    TOKEN_SECRETS,
    WORKSPACE_ROLE,
    arrows,
    kafka_password_var,
    kafka_principals,
    port_of,
)
from pulse_shared.settings import PulseSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"

INFRASTRUCTURE = {"kafka", "postgres", "redis"}
# What stands in for the outside world that make up runs too: the identity provider and
# the SMTP server (a deployment uses its organisation's own); keycloak-setup applies the
# realm's secrets once Keycloak answers.
STAND_INS = {"keycloak", "mailpit"}
ONE_SHOT = {"migrate", "keycloak-setup"}
# The Python services: compose service name -> (distribution, module of the ASGI app, port).
APPS: dict[str, tuple[str, str, int]] = {
    "aggregator": ("pulse-aggregator", "pulse_aggregator.app", 8100),
    "query-api": ("pulse-query-api", "pulse_query_api.app", 8000),
    "ingest-linkedin": ("pulse-ingest-linkedin", "pulse_ingest_linkedin.app", 8101),
    "ingest-twitter": ("pulse-ingest-twitter", "pulse_ingest_twitter.app", 8102),
    "ingest-meta": ("pulse-ingest-meta", "pulse_ingest_meta.app", 8103),
    "platform-sim": ("pulse-platform-sim", "pulse_platform_sim.app", 8200),
    "workspace": ("pulse-workspace", "pulse_workspace.app", 8400),
    "reporter": ("pulse-reporter", "pulse_reporter.app", 8500),
}
# The one recipe of every Python service's image (the dashboard has its own).
SERVICE_DOCKERFILE = "services/Dockerfile"
DESIGN_SERVICES = INFRASTRUCTURE | ONE_SHOT | STAND_INS | set(APPS) | {"dashboard"}
# DESIGN.md, "Running it": the default host ports, each overridable by environment. The
# servers (Kafka 9092, PostgreSQL 5432, Redis 6379) publish none: only the containers on
# their internal network reach them.
DEFAULT_HOST_PORTS = {
    "query-api": 8000,
    "ingest-linkedin": 8101,
    "ingest-twitter": 8102,
    "ingest-meta": 8103,
    "aggregator": 8100,
    "dashboard": 8080,
    "platform-sim": 8200,
    "workspace": 8400,
    "reporter": 8500,
    # The teams contract's local servers: the identity provider, the inbox.
    "keycloak": 8300,
    "mailpit": 8025,
}
LOOPBACK = "127.0.0.1"
# What each service needs healthy (or, for migrate, finished) before it starts.
REQUIRED_DEPENDENCIES: dict[str, dict[str, str]] = {
    "migrate": {"kafka": "service_healthy", "postgres": "service_healthy"},
    "aggregator": {
        "kafka": "service_healthy",
        "postgres": "service_healthy",
        "migrate": "service_completed_successfully",
    },
    "query-api": {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "migrate": "service_completed_successfully",
    },
    **{
        name: {
            "kafka": "service_healthy",
            "redis": "service_healthy",
            "migrate": "service_completed_successfully",
        }
        for name in ("ingest-linkedin", "ingest-twitter", "ingest-meta")
    },
    "workspace": {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "migrate": "service_completed_successfully",
    },
    # Reports and alerts go to Mailpit; the analytics come from query-api, members from
    # the workspace.
    "reporter": {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "migrate": "service_completed_successfully",
        "mailpit": "service_healthy",
        "query-api": "service_healthy",
        "workspace": "service_healthy",
    },
    # Sign-in needs the realm with its secrets applied.
    "dashboard": {
        "redis": "service_healthy",
        "workspace": "service_healthy",
        "keycloak-setup": "service_completed_successfully",
    },
    "keycloak-setup": {"keycloak": "service_healthy"},
}
APP_ROLE = "pulse"
READER_ROLE = "pulse_reader"
INGEST_ROLE = "pulse_ingest"
DATABASE = "pulse"
# The dashboard's server reads these (the teams contract); a secret among them comes from
# the generated credentials, never a value written here.
DASHBOARD_SETTINGS = {
    "PULSE_QUERY_API_URL": "http://query-api:8000",
    "PULSE_WORKSPACE_URL": "http://workspace:8400",
    "PULSE_REPORTER_URL": "http://reporter:8500",
    "PULSE_INGEST_LINKEDIN_URL": "http://ingest-linkedin:8101",
    "PULSE_INGEST_TWITTER_URL": "http://ingest-twitter:8102",
    "PULSE_INGEST_META_URL": "http://ingest-meta:8103",
    "PULSE_REDIS_URL": "redis://dashboard:PULSE_REDIS_DASHBOARD_PASSWORD@redis:6379/0",
    "PULSE_DASHBOARD_SESSION_KEYS": "PULSE_DASHBOARD_SESSION_KEYS",
    "PULSE_OIDC_CLIENT_SECRET": "PULSE_KEYCLOAK_DASHBOARD_CLIENT_SECRET",
    "PULSE_OIDC_CLIENT_ID": "pulse-dashboard",
    "PULSE_DASHBOARD_PUBLIC_URL": "http://127.0.0.1:8080",
}
# The workspace's secrets: each the generated one of the same name (or Mailpit's sender).
WORKSPACE_SECRETS = {
    **{name: name for name in (*SEED_SECRETS, *TOKEN_SECRETS) if "WORKSPACE" in name},
    "PULSE_REPORTER_SERVICE_TOKEN": "PULSE_REPORTER_SERVICE_TOKEN",
    "PULSE_SMTP_PASSWORD": "PULSE_MAILPIT_SMTP_PASSWORD",
}
# The reporter's: its own generated secrets (the service token the workspace has too), and
# Mailpit's sender.
REPORTER_SECRETS = {
    **{name: name for name in (*SEED_SECRETS, *TOKEN_SECRETS) if "REPORTER" in name},
    "PULSE_SMTP_PASSWORD": "PULSE_MAILPIT_SMTP_PASSWORD",
}
WORKSPACE_JWKS = f"http://workspace:{port_of('workspace')}/.well-known/jwks.json"

_INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}"
)
_PORT = re.compile(
    r"^(?:(?P<host>[0-9.]+):)?"
    r"\$\{(?P<var>[A-Z][A-Z0-9_]*):-(?P<default>\d+)\}:(?P<container>\d+)(?:/tcp)?$"
)


def interpolate(value: object) -> str:
    """A compose value as it is with none of its variables set: `${X:-d}` -> d, `$$` -> $,
    and a required `${X:?message}` -> X (it has no default: its name stands for it)."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        if (match.group("op") or "").endswith("?"):
            return match.group("name")
        return match.group("default") or ""

    return _INTERPOLATION.sub(substitute, str(value))


@functools.cache
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), "docker-compose.yml is not a mapping"
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found = compose().get("services")
    assert isinstance(found, dict), "docker-compose.yml: services is not a mapping"
    assert found, "docker-compose.yml has no services"
    return found


def long_running() -> list[str]:
    return sorted(name for name in services() if name not in ONE_SHOT)


def environment(service: str) -> dict[str, str]:
    env = services()[service].get("environment") or {}
    if isinstance(env, list):  # the KEY=value list form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    assert isinstance(env, dict)
    return {str(key): interpolate(value) for key, value in env.items()}


def dependencies(service: str) -> dict[str, Any]:
    deps = services()[service].get("depends_on") or {}
    assert isinstance(deps, dict), (
        f"{service}: depends_on must be the long form, each with a condition (a list waits "
        "only for the container to start)"
    )
    return deps


def published_ports(service: str) -> list[re.Match[str]]:
    matches = []
    for entry in services()[service].get("ports") or []:
        assert isinstance(entry, str), f"{service}: write ports as quoted strings, got {entry!r}"
        match = _PORT.match(entry)
        assert match, (
            f"{service}: port {entry!r} should read "
            '"127.0.0.1:${PULSE_..._PORT:-<default>}:<container port>" (host port overridable)'
        )
        matches.append(match)
    return matches


@dataclass
class Dockerfile:
    path: Path
    args: dict[str, str] = field(default_factory=dict)
    # Every stage's instructions, in order: (INSTRUCTION, arguments).
    stages: list[list[tuple[str, str]]] = field(default_factory=list)

    @property
    def final(self) -> list[tuple[str, str]]:
        return self.stages[-1]

    def stage(self, name: str) -> list[tuple[str, str]]:
        """The stage ``FROM ... AS name`` (a build's target)."""
        for stage in self.stages:
            if stage[0][1].split()[-1] == name and " AS " in stage[0][1].upper():
                return stage
        raise AssertionError(f"{self.path}: no stage {name}")

    def last(self, instruction: str, target: str | None = None) -> str | None:
        stage = self.final if target is None else self.stage(target)
        values = [value for name, value in stage if name == instruction]
        return values[-1] if values else None


@functools.cache
def dockerfile(relative: str) -> Dockerfile:
    path = ROOT / relative
    parsed = Dockerfile(path)
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, f"{relative}: ends inside a continued line"
    for line in logical:
        instruction, _, rest = line.partition(" ")
        instruction, rest = instruction.upper(), rest.strip()
        if instruction == "ARG" and not parsed.stages:
            name, _, default = rest.partition("=")
            parsed.args[name] = default
        elif instruction == "FROM":
            parsed.stages.append([(instruction, rest)])
        else:
            assert parsed.stages, f"{relative}: {instruction} before the first FROM"
            parsed.stages[-1].append((instruction, rest))
    return parsed


def exec_form(value: str | None, where: str) -> list[str]:
    assert value is not None, f"{where}: missing"
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        pytest.fail(f"{where}: use the JSON (exec) form, got {value!r}")
    assert isinstance(parsed, list), f"{where}: {value!r}"
    assert all(isinstance(part, str) for part in parsed), f"{where}: {value!r}"
    return parsed


def module_file(module: str) -> Path | None:
    """Where the workspace keeps `module` (pulse_query_api.app -> services/.../app.py)."""
    top, *rest = module.split(".")
    for src in [ROOT / "shared" / "src", *sorted((ROOT / "services").glob("*/src"))]:
        if (src / top).is_dir():
            return src.joinpath(top, *rest).with_suffix(".py")
    return None


def settings_fields(module_prefix: str) -> set[str]:
    """The environment variables a service reads: the shared settings and its own."""
    classes: list[type[BaseSettings]] = [PulseSettings]
    try:
        own = importlib.import_module(f"{module_prefix}.settings")
    except ModuleNotFoundError:
        own = None
    if own is not None:
        classes += [
            member
            for _, member in inspect.getmembers(own, inspect.isclass)
            if issubclass(member, BaseSettings)
        ]
    names: set[str] = set()
    for cls in classes:
        prefix = str(cls.model_config.get("env_prefix", ""))
        names |= {f"{prefix}{name}".upper() for name in cls.model_fields}
    return names


# --- services, healthchecks, dependencies --------------------------------------------------


def test_every_service_of_the_design_is_there() -> None:
    missing = DESIGN_SERVICES - set(services())
    assert not missing, f"docker-compose.yml lacks {sorted(missing)}"


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name in long_running():
        check = services()[name].get("healthcheck")
        assert isinstance(check, dict), f"{name}: no healthcheck"
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        test = check.get("test")
        assert test, f"{name}: healthcheck without a test"
        if isinstance(test, list):
            assert test[0] in {"CMD", "CMD-SHELL"}, f"{name}: bad test {test}"
            assert len(test) > 1, f"{name}: empty test {test}"
        assert services()[name].get("restart") not in {None, "no"}, (
            f"{name}: a long-running service should restart"
        )


def test_healthchecks_ask_the_right_thing() -> None:
    probes = {
        "kafka": "kafka-broker-api-versions.sh",
        "postgres": "pg_isready",
        "redis": "redis-cli",
    }
    for name, probe in probes.items():
        test = services()[name]["healthcheck"]["test"]
        assert probe in " ".join(test if isinstance(test, list) else [test]), (name, test)
    for name, (_, _, port) in APPS.items():
        test = " ".join(services()[name]["healthcheck"]["test"])
        assert "urllib" in test, f"{name}: slim images have no curl; probe with python's urllib"
        assert f"127.0.0.1:{port}/healthz" in test or f"localhost:{port}/healthz" in test, (
            f"{name}: healthcheck should GET /healthz on its own port {port}: {test}"
        )


def test_one_shot_services_do_not_restart() -> None:
    for name in ONE_SHOT:
        assert services()[name].get("restart", "no") == "no", f"{name} would run forever"


def test_depends_on_names_existing_services_with_a_condition() -> None:
    allowed = {"service_healthy", "service_completed_successfully", "service_started"}
    for name in services():
        for target, spec in dependencies(name).items():
            assert target in services(), f"{name} depends on unknown service {target!r}"
            assert isinstance(spec, dict), f"{name} -> {target}: give a condition"
            assert spec.get("condition") in allowed, (
                f"{name} -> {target}: give a condition ({sorted(allowed)})"
            )
            condition = spec["condition"]
            if condition == "service_healthy":
                assert services()[target].get("healthcheck"), (
                    f"{name} waits for {target} to be healthy, but it has no healthcheck"
                )
            if condition == "service_completed_successfully":
                assert target in ONE_SHOT, f"{name} waits for long-running {target} to exit"
            if target in INFRASTRUCTURE:
                assert condition == "service_healthy", (
                    f"{name} -> {target}: an open port is not a ready server; wait for healthy"
                )


def test_dependencies_have_no_cycle() -> None:
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        assert state.get(name) != "active", f"dependency cycle: {' -> '.join((*path, name))}"
        state[name] = "active"
        for target in dependencies(name):
            visit(target, (*path, name))
        state[name] = "done"

    for name in services():
        visit(name, ())


def test_migrate_gates_the_services_and_waits_for_infrastructure() -> None:
    for name, required in REQUIRED_DEPENDENCIES.items():
        deps = dependencies(name)
        for target, condition in required.items():
            assert target in deps, f"{name} must wait for {target} ({condition})"
            assert deps[target]["condition"] == condition, (
                f"{name} -> {target}: expected {condition}, got {deps[target]['condition']}"
            )


def test_migrate_runs_the_migrations_then_creates_the_topics() -> None:
    migrate = services()["migrate"]
    command = migrate.get("command")
    text = " ".join(command) if isinstance(command, list) else str(command)
    text = interpolate(text)
    upgrade = text.find("alembic -c shared/alembic.ini upgrade head")
    topics = text.find("kafka_admin.py topics")
    assert upgrade >= 0, f"migrate does not upgrade the schema: {text}"
    assert topics > upgrade, f"migrate does not create the topics after the schema: {text}"
    assert "&&" in text[upgrade:topics], "a failed migration must stop migrate (use &&)"
    assert migrate.get("image") == services()["aggregator"].get("image"), (
        "migrate runs in the aggregator's image"
    )
    # The files the command names are in that image, where the command looks for them.
    image = dockerfile(SERVICE_DOCKERFILE)
    target = services()["aggregator"]["build"]["target"]
    workdir = image.last("WORKDIR", "runtime")
    copied = {
        (Path(workdir or "/") / value.split()[-1]).as_posix()
        for instruction, value in image.stage(target)
        if instruction == "COPY" and "--from" not in value
    }
    for needed in ("shared/alembic.ini", "deploy/local/kafka_admin.py"):
        assert (ROOT / needed).is_file(), needed
        assert (Path(workdir or "/") / needed).as_posix() in copied, (
            f"the aggregator image does not copy {needed} to {workdir}/{needed}"
        )


# --- ports ---------------------------------------------------------------------------------


def test_published_ports_match_the_design_defaults() -> None:
    host_defaults: dict[int, str] = {}
    variables: dict[str, str] = {}
    for name in services():
        for match in published_ports(name):
            default = int(match["default"])
            assert default not in host_defaults, (
                f"{name} and {host_defaults[default]} both publish host port {default}"
            )
            assert match["var"] not in variables, (
                f"{name} and {variables[match['var']]} share the variable {match['var']}"
            )
            assert match["var"].startswith("PULSE_"), match["var"]
            host_defaults[default] = name
            variables[match["var"]] = name
    for name, port in DEFAULT_HOST_PORTS.items():
        published = [int(m["default"]) for m in published_ports(name)]
        assert published == [port], f"{name} publishes {published}, DESIGN.md says {port}"
    for name, (_, _, port) in APPS.items():
        (match,) = published_ports(name)
        assert int(match["container"]) == port, f"{name} listens on {port} in its container"


def test_ports_are_published_on_loopback_only_and_no_server_port_at_all() -> None:
    """As `make up`: the host's own programs reach the services, no other machine does;
    and no one outside the containers reaches Kafka, PostgreSQL or Redis."""
    for name in services():
        for match in published_ports(name):
            assert match["host"] == LOOPBACK, f"{name} publishes {match[0]} on every interface"
    for name in INFRASTRUCTURE:
        assert not services()[name].get("ports"), f"{name} publishes a port"


# --- networks and users (DESIGN.md, "Least privilege") -------------------------------------


def networks_of(service: str) -> set[str]:
    joined = services()[service].get("networks") or ["default"]
    return set(joined)


def test_the_servers_are_on_internal_networks_only() -> None:
    declared = compose().get("networks") or {}
    for name in INFRASTRUCTURE:
        for network in networks_of(name):
            assert (declared.get(network) or {}).get("internal") is True, (
                f"{name} is on {network}, which is not internal"
            )


def test_every_arrow_of_the_permissions_table_has_a_network() -> None:
    """What pulse_shared.permissions lets a service call shares a network with it (the
    simulator's stack, as dev), and a service that calls the internet is on a network
    that leads there (not internal)."""
    declared = compose().get("networks") or {}
    for arrow in arrows(dev=True):
        if arrow.source not in services():
            continue  # the ingress controller: here, the published ports
        if arrow.target == INTERNET:
            outward = [n for n in networks_of(arrow.source) if not declared[n].get("internal")]
            assert outward, f"{arrow.source} calls the internet from internal networks only"
            continue
        if arrow.target == SMTP:  # here Mailpit, as `make up` runs it
            assert networks_of(arrow.source) & networks_of("mailpit"), arrow.source
            continue
        shared = networks_of(arrow.source) & networks_of(arrow.target)
        assert shared, f"{arrow.source} cannot reach {arrow.target}: no common network"


def test_no_container_runs_as_root() -> None:
    for name, service in services().items():
        user = str(service.get("user", ""))
        assert user, f"{name}: no user (the image's default may be root)"
        assert user.split(":")[0] not in {"root", "0"}, f"{name} runs as {user}"


def test_no_password_has_a_default() -> None:
    """Every password comes from the environment (deploy/local/credentials.py makes them):
    a default would be a password published here."""
    for text in (
        COMPOSE_FILE.read_text(encoding="utf-8"),
        (ROOT / "deploy/docker/postgres-init.sh").read_text(encoding="utf-8"),
    ):
        assert not re.search(r"\$\{[A-Z_]*PASSWORD:?-", text), "a password with a default"
    required = re.compile(r"\$\{PULSE_[A-Z_]+_PASSWORD:\?[^}]+\}")
    for name, service in services().items():
        for key, value in (service.get("environment") or {}).items():
            if key.endswith("PASSWORD"):
                assert required.fullmatch(str(value)), f"{name}: {key} is not a required variable"


def test_redis_has_the_users_of_the_permissions_table() -> None:
    """Redis starts from deploy/docker/redis-acl.sh, generated from the table; each service
    that uses Redis connects as its own user, the others not at all."""
    redis = services()["redis"]
    script = Path("deploy/docker/redis-acl.sh")
    mounted = [str(v).split(":") for v in redis.get("volumes", [])]
    assert [f"./{script}", "/usr/local/bin/pulse-redis-acl.sh", "ro"] in mounted
    assert redis.get("entrypoint") == ["sh", "/usr/local/bin/pulse-redis-acl.sh"]
    generated = subprocess.run(
        [sys.executable, str(ROOT / "deploy/local/credentials.py"), "docker-redis-acl"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert (ROOT / script).read_text(encoding="utf-8") == generated, (
        f"{script} is not what the table makes: python3 deploy/local/credentials.py "
        f"docker-redis-acl > {script}"
    )
    users = {SERVICES[n].redis_user for n in services() if n in SERVICES} - {None}
    passwords = environment("redis")
    assert set(passwords) == {REDIS_USERS[u].password_var for u in users if u} | {
        REDIS_ADMIN.password_var
    }
    for name in (*APPS, "migrate", "dashboard"):
        user = SERVICES[name].redis_user
        url = environment(name).get("PULSE_REDIS_URL")
        if user is None:
            assert url is None, f"{name} does not use Redis, yet has {url}"
            continue
        assert url == f"redis://{user}:{REDIS_USERS[user].password_var}@redis:6379/0", name


def test_kafka_has_the_users_of_the_permissions_table() -> None:
    """Kafka starts from deploy/docker/kafka-sasl.sh with the security part of deploy/local's
    broker (deploy/kafka/security.properties); each service that uses Kafka logs in as its
    own user; migrate gives every user its credential and ACLs after creating the topics."""
    kafka = services()["kafka"]
    mounted = [str(v).split(":") for v in kafka.get("volumes", [])]
    assert ["./deploy/docker/kafka-sasl.sh", "/usr/local/bin/pulse-kafka-sasl.sh", "ro"] in mounted
    assert [
        "./deploy/kafka/security.properties",
        "/etc/pulse/kafka-security.properties",
        "ro",
    ] in mounted
    assert kafka.get("entrypoint") == ["sh", "/usr/local/bin/pulse-kafka-sasl.sh"]
    for name in (*APPS, "migrate", "dashboard"):
        env = environment(name)
        if name in kafka_principals():
            assert env.get("PULSE_KAFKA_USERNAME") == name, name
            assert env.get("PULSE_KAFKA_PASSWORD") == kafka_password_var(name), name
            assert env.get("PULSE_KAFKA_SECURITY_PROTOCOL") == "SASL_PLAINTEXT", name
        else:
            assert "PULSE_KAFKA_USERNAME" not in env, f"{name} logs in to Kafka as whom?"
    command = interpolate(" ".join(services()["migrate"]["command"]))
    assert command.find("kafka_admin.py access") > command.find("kafka_admin.py topics") >= 0


def test_kafka_listeners_are_consistent() -> None:
    env = environment("kafka")
    # deploy/kafka/security.properties names the listeners CLIENT and CONTROLLER.
    assert env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == (
        "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    )

    def listeners(key: str) -> dict[str, tuple[str, int]]:
        out = {}
        for item in env[key].split(","):
            name, _, address = item.strip().partition("://")
            host, _, port = address.rpartition(":")
            out[name] = (host, int(port))
        return out

    bound = listeners("KAFKA_LISTENERS")
    advertised = listeners("KAFKA_ADVERTISED_LISTENERS")
    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    controllers = set(env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(","))

    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert set(bound) <= set(protocols), "every listener needs a security protocol"
    assert controllers <= set(bound), "the controller listener must be bound"
    assert set(advertised) <= set(bound) - controllers, "advertise broker listeners only"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    node = env["KAFKA_NODE_ID"]
    (controller,) = controllers
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{node}@kafka:{bound[controller][1]}"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false", "topics come from migrate only"
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
    ):
        assert env.get(key) == "1", f"one broker: {key} must be 1"

    # Containers reach kafka:9092, and nothing else does: no listener for the host.
    bootstrap = {environment(name)["PULSE_KAFKA_BOOTSTRAP_SERVERS"] for name in (*APPS, "migrate")}
    assert bootstrap == {"kafka:9092"}, bootstrap
    assert list(advertised.values()) == [("kafka", 9092)], advertised


# --- images --------------------------------------------------------------------------------


def test_every_build_uses_the_repository_root_and_an_existing_dockerfile() -> None:
    builds: dict[str, dict[str, Any]] = {}
    for name, service in services().items():
        build = service.get("build")
        if build is None:
            continue
        assert isinstance(build, dict), f"{name}: give build a context and a dockerfile"
        assert (ROOT / build.get("context", ".")).resolve() == ROOT, (
            f"{name}: the build context must be the repository root (the uv workspace)"
        )
        assert (ROOT / build["dockerfile"]).is_file(), f"{name}: no {build['dockerfile']}"
        image = str(service.get("image", ""))
        if image in builds:
            assert builds[image] == build, f"{name} builds {image} differently"
        builds[image] = build
    for name, (_, module, port) in APPS.items():
        build = services()[name].get("build")
        assert build, f"{name}: not built from this repository"
        assert build["dockerfile"] == SERVICE_DOCKERFILE, f"{name}: build from the one recipe"
        args = build.get("args", {})
        assert args.get("SERVICE") == name, f"{name}: build arg SERVICE"
        assert f"{args.get('MODULE')}.app" == module, f"{name}: build arg MODULE"
        assert args.get("PORT") == str(port), f"{name}: build arg PORT"
        assert build.get("target") == ("chores" if name == "aggregator" else "runtime"), name
    assert services()["migrate"].get("build") == services()["aggregator"].get("build")


def test_infrastructure_images_are_pinned() -> None:
    images = {name: str(services()[name].get("image", "")) for name in INFRASTRUCTURE | STAND_INS}
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", images["kafka"]), images["kafka"]
    assert re.fullmatch(r"postgres:15(\.\d+)?", images["postgres"]), images["postgres"]
    assert re.fullmatch(r"redis:7(\.\d+)*", images["redis"]), images["redis"]
    assert re.fullmatch(r"quay\.io/keycloak/keycloak:26\.\d+(\.\d+)?", images["keycloak"])
    assert re.fullmatch(r"axllent/mailpit:v1\.\d+\.\d+", images["mailpit"]), images["mailpit"]


def with_args(text: str, args: dict[str, str]) -> str:
    """``text`` with the build's ``${NAME}``s replaced by its arguments."""
    return re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), text)


@pytest.mark.parametrize("name", sorted(APPS))
def test_the_service_recipe_installs_its_package_and_runs_its_app(name: str) -> None:
    distribution, module, port = APPS[name]
    image = dockerfile(SERVICE_DOCKERFILE)
    build = services()[name]["build"]
    args = {**image.args, **{k: str(v) for k, v in build["args"].items()}}
    where = f"{SERVICE_DOCKERFILE} for {name}"

    project = (ROOT / "services" / name / "pyproject.toml").read_text(encoding="utf-8")
    assert f'name = "{distribution}"' in project, f"{distribution} is not services/{name}"

    syncs = [
        with_args(value, args)
        for stage in image.stages
        for instruction, value in stage
        if instruction == "RUN" and "uv sync" in value
    ]
    assert syncs, f"{where}: no uv sync"
    for sync in syncs:
        words = shlex.split(sync[sync.index("uv sync") :])
        for flag in ("--frozen", "--no-dev", "--no-editable"):
            assert flag in words, f"{where}: `{sync}` lacks {flag}"
        assert words[words.index("--package") + 1] == distribution, f"{where}: {sync}"
        assert "--mount=type=cache" in sync, f"{where}: cache uv's downloads across builds"
    env = " ".join(value for stage in image.stages for n, value in stage if n == "ENV")
    for setting in ("UV_PYTHON_DOWNLOADS=never", "UV_COMPILE_BYTECODE=1", "UV_LINK_MODE=copy"):
        assert setting in env, f"{where}: set {setting}"

    # Sources copied from the build context exist (a rename would break the build).
    for stage in image.stages:
        for instruction, value in stage:
            if instruction == "COPY" and "--from" not in value:
                *sources, _ = with_args(value, args).split()
                for source in sources:
                    assert (ROOT / source).exists(), f"{where}: COPY {source}: no such path"

    # Builder and runtime share the interpreter the venv links to; the runtime is slim.
    bases = {stage[0][1].split()[0] for stage in image.stages[1:]}
    assert bases == {"${PYTHON_IMAGE}", "runtime"}, f"{where}: builder and runtime share a base"
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", image.args["PYTHON_IMAGE"])

    target = build["target"]
    user = image.last("USER", "runtime")
    assert user, f"{where}: the runtime stage runs as root"
    assert user.split(":")[0] not in {"root", "0"}, f"{where}: USER {user} is root"
    assert image.last("USER", target) in (None, user), f"{where}: {target} changes the user"

    assert with_args(image.last("EXPOSE", "runtime") or "", args) == str(port), f"{where}: EXPOSE"
    health = image.last("HEALTHCHECK", "runtime") or ""
    assert "urllib" in health, f"{where}: HEALTHCHECK {health} (slim images have no curl)"
    assert "UVICORN_PORT" in health, f"{where}: HEALTHCHECK {health}"
    assert "/healthz" in health, f"{where}: HEALTHCHECK {health}"

    # uvicorn serves UVICORN_APP on UVICORN_PORT (its options from the environment).
    runtime_env = with_args(
        " ".join(v for n, v in image.stage("runtime") if n == "ENV"), args
    )  # fmt: skip
    assert f"UVICORN_APP={module}:app" in runtime_env, f"{where}: serves {module}:app"
    assert f"UVICORN_PORT={port}" in runtime_env, f"{where}: listens on {port}"
    cmd = exec_form(image.last("CMD", "runtime"), f"{where} CMD")
    assert cmd[0] == "uvicorn", f"{where}: CMD {cmd}"
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0", f"{where}: listen beyond the container"
    assert "--port" not in cmd, f"{where}: the port is UVICORN_PORT's"
    app_file = module_file(module)
    assert app_file is not None, f"{where}: CMD runs {module}, no such package"
    assert app_file.is_file(), f"{where}: CMD runs {module}, no {app_file.relative_to(ROOT)}"


def test_the_simulator_logs_no_access_lines_and_the_reporter_has_pango() -> None:
    """Graph API clients put access tokens in the query string: the simulator's uvicorn
    logs no requests. WeasyPrint draws the reporter's PDFs with Pango."""
    args = {name: services()[name]["build"]["args"] for name in APPS}
    assert args["platform-sim"].get("ACCESS_LOG") == "false"
    assert all("ACCESS_LOG" not in a for name, a in args.items() if name != "platform-sim")
    assert "UVICORN_ACCESS_LOG=${ACCESS_LOG}" in " ".join(
        v for n, v in dockerfile(SERVICE_DOCKERFILE).stage("runtime") if n == "ENV"
    )
    assert {"libpango-1.0-0", "fonts-dejavu-core"} <= set(args["reporter"]["APT_PACKAGES"].split())


def test_every_service_dockerfile_is_checked() -> None:
    on_disk = {path.parent.name for path in (ROOT / "services").glob("*/Dockerfile")}
    assert on_disk == {"dashboard"}, f"services with a Dockerfile of their own: {sorted(on_disk)}"
    assert (ROOT / SERVICE_DOCKERFILE).is_file()


def test_dashboard_image_builds_the_page_and_serves_it_as_non_root() -> None:
    """The dashboard is TypeScript built by Node and served by a small Python server (no
    workspace package): its own checks, the same runtime rules as the others."""
    image = dockerfile("services/dashboard/Dockerfile")
    where = image.path.relative_to(ROOT)
    bases = [stage[0][1].split()[0] for stage in image.stages]
    resolved = [image.args.get(b.strip("${}"), b) for b in bases]
    assert any(base.startswith("node:") for base in resolved), f"{where}: no Node build stage"
    user = image.last("USER")
    assert user, f"{where}: the runtime stage runs as root"
    assert user.split(":")[0] not in {"root", "0"}, f"{where}: USER {user}"
    assert image.last("EXPOSE") == "8080", f"{where}: EXPOSE"
    health = image.last("HEALTHCHECK") or ""
    assert "urllib" in health, f"{where}: HEALTHCHECK {health} (slim images have no curl)"
    assert ":8080/healthz" in health, f"{where}: HEALTHCHECK {health}"
    cmd = exec_form(image.last("CMD"), f"{where} CMD")
    assert cmd[:2] == ["uvicorn", "server.app:app"], f"{where}: CMD {cmd}"
    assert cmd[cmd.index("--port") + 1] == "8080", f"{where}: CMD port"
    assert (ROOT / "services" / "dashboard" / "server" / "app.py").is_file()


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    ignored = {
        line.strip().removeprefix("**/").rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (".git", ".run", ".venv", "__pycache__", "node_modules"):
        assert entry in ignored, f".dockerignore should exclude {entry}"
    for needed in ("uv.lock", "pyproject.toml", "shared", "services", "deploy"):
        assert needed not in ignored, f".dockerignore excludes {needed}, which the images need"


# --- configuration and database roles ------------------------------------------------------


def test_python_services_are_configured_by_settings_they_read() -> None:
    # What migrate's `kafka_admin.py access` reads besides: every Kafka user's password.
    kafka_users = {kafka_password_var(p) for p in (KAFKA_ADMIN, *kafka_principals(), "tests")}
    for name in (*APPS, "migrate"):
        module = APPS["aggregator" if name == "migrate" else name][1].split(".")[0]
        known = settings_fields(module) | (kafka_users if name == "migrate" else set())
        for key in environment(name):
            assert key.startswith("PULSE_"), f"{name}: {key} is not a PULSE_ setting"
            assert key in known, f"{name}: no settings field reads {key}"


def test_database_urls_use_the_right_roles() -> None:
    postgres = environment("postgres")
    passwords = {
        APP_ROLE: postgres["PULSE_PG_APP_PASSWORD"],
        READER_ROLE: postgres["PULSE_PG_READER_PASSWORD"],
        INGEST_ROLE: postgres["PULSE_PG_INGEST_PASSWORD"],
        WORKSPACE_ROLE: postgres["PULSE_PG_WORKSPACE_PASSWORD"],
        REPORTER_ROLE: postgres["PULSE_PG_REPORTER_PASSWORD"],
    }
    expected = {
        "migrate": APP_ROLE, "aggregator": APP_ROLE, "query-api": READER_ROLE,
        "ingest-linkedin": INGEST_ROLE, "ingest-twitter": INGEST_ROLE, "ingest-meta": INGEST_ROLE,
        "workspace": WORKSPACE_ROLE, "reporter": REPORTER_ROLE,
    }  # fmt: skip
    for name, role in expected.items():
        url = make_url(environment(name)["PULSE_DATABASE_URL"])
        assert url.drivername == "postgresql+asyncpg", f"{name}: {url.drivername}"
        assert (url.host, url.port or 5432, url.database) == ("postgres", 5432, DATABASE), name
        assert url.username == role, f"{name} connects as {url.username}, not {role}"
        assert url.password == passwords[role], f"{name}: {role}'s password differs from postgres's"
    for name in ("migrate", "query-api"):
        role = environment(name).get("PULSE_DATABASE_READER_ROLE", READER_ROLE)
        assert role == READER_ROLE, f"{name}: reader role {role}"


def test_postgres_init_script_creates_the_roles_and_the_database() -> None:
    mounts = [
        str(volume).split(":")
        for volume in services()["postgres"].get("volumes", [])
        if "/docker-entrypoint-initdb.d" in str(volume)
    ]
    assert mounts, "postgres mounts nothing into /docker-entrypoint-initdb.d"
    ((source, target, *_),) = mounts
    script = (ROOT / source).resolve()
    assert script.is_relative_to(ROOT), f"{source} lies outside the repository"
    assert script.is_file(), f"{source}: no such file"
    assert target.endswith((".sh", ".sql")), f"the image runs only .sh/.sql files: {target}"
    # The statements, without shell (#) or SQL (--) comments.
    lines = [
        re.sub(r"--.*$", "", line)
        for line in script.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    sql = " ".join(" ".join(lines).split())

    for role, attributes in (
        (APP_ROLE, ("LOGIN", "CREATEDB")), (READER_ROLE, ("LOGIN",)), (INGEST_ROLE, ("LOGIN",)),
        (WORKSPACE_ROLE, ("LOGIN",)), (REPORTER_ROLE, ("LOGIN",)),
    ):  # fmt: skip
        match = re.search(rf"CREATE ROLE {role} (?:WITH )?([^;]*);", sql, re.IGNORECASE)
        assert match, f"the init script does not create role {role}"
        words = match.group(1).upper().split()
        for attribute in attributes:
            assert attribute in words, f"{role} lacks {attribute}"
        assert "SUPERUSER" not in words, f"{role} must not be a superuser"
        assert "PASSWORD" in words, f"{role} has no password"
    # The locale every Pulse database is created with (text compared byte by byte).
    assert f"CREATE DATABASE {DATABASE} OWNER {APP_ROLE} {DATABASE_LOCALE};" in sql
    assert "POSTGRES_USER" not in environment("postgres"), "the superuser stays postgres"


# --- the docker CLI, when it can validate offline ------------------------------------------


def compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone:
        probe = subprocess.run(
            [standalone, "version", "--short"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0 and probe.stdout.strip().lstrip("v").startswith("2"):
            return [standalone]
    return None


def test_docker_compose_config_accepts_the_file() -> None:
    command = compose_command()
    if command is None:
        reason = (
            "the docker CLI is not installed"
            if shutil.which("docker") is None
            else "the docker CLI has no compose plugin (`docker compose version` fails)"
        )
        pytest.skip(f"cannot validate with docker compose: {reason}")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULSE_")}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_services_trust_the_forwarded_address_of_the_dashboard_only() -> None:
    """query-api, the workspace, the reporter and the ingest services count rate limits per
    browser from the dashboard's X-Forwarded-For: each trusts that header from the
    dashboard's fixed address, which no other container can be given (it lies outside the
    network's ip_range), on the one network the dashboard shares with it (so the dashboard
    always calls from that address). Only the dashboard and Redis meet on `sessions`."""
    dashboard_networks = services()["dashboard"]["networks"]
    address = ipaddress.ip_address(dashboard_networks["web"]["ipv4_address"])
    (ipam,) = compose()["networks"]["web"]["ipam"]["config"]
    assert address in ipaddress.ip_network(ipam["subnet"])
    assert address not in ipaddress.ip_network(ipam["ip_range"]), "others may get its address"
    relayed = {target for target in SERVICES["dashboard"].calls if target in SERVICES}
    assert relayed == {
        "query-api", "workspace", "reporter", "ingest-linkedin", "ingest-twitter", "ingest-meta"
    }  # fmt: skip
    for name in relayed:
        trusted = json.loads(environment(name)["PULSE_TRUSTED_PROXIES"])
        assert trusted == [str(address)], name
        assert networks_of(name) & networks_of("dashboard") == {"web"}, name
    trusting = {name for name in services() if "PULSE_TRUSTED_PROXIES" in environment(name)}
    assert trusting == relayed
    on_web = {n for n, s in services().items() if "web" in (s.get("networks") or [])}
    assert on_web == {"dashboard", "keycloak", *relayed}
    on_sessions = {n for n, s in services().items() if "sessions" in (s.get("networks") or [])}
    assert on_sessions == {"dashboard", "redis"}
    assert compose()["networks"]["sessions"].get("internal") is True


def _hosts(key: str, value: str) -> set[str]:
    """The hosts a setting names: a URL's (PULSE_*_URL, PULSE_OIDC_ISSUER), the SMTP host."""
    if key == "PULSE_SMTP_HOST":
        return {value}
    if key.endswith(("_URL", "_ISSUER")) and "://" in value:
        host = urlsplit(value).hostname
        return {host} if host else set()
    return set()


def _names() -> dict[str, tuple[str, set[str]]]:
    """Each name a container answers to (its service's, its aliases) -> the container and
    the networks it answers on."""
    found = {name: (name, networks_of(name)) for name in services()}
    for name, service in services().items():
        joined = service.get("networks") or {}
        for network, spec in joined.items() if isinstance(joined, dict) else []:
            for alias in (spec or {}).get("aliases", []):
                found.setdefault(alias, (name, set()))[1].add(network)
    return found


def test_every_address_a_service_is_given_is_on_a_network_it_shares() -> None:
    names = _names()
    for name in services():
        for key, value in environment(name).items():
            for host in _hosts(key, value) & set(names):
                assert networks_of(name) & names[host][1], f"{name}: {key} names {host}"


def test_the_issuer_is_one_url_for_the_browser_and_the_containers() -> None:
    """An ID token's `iss` is the URL Keycloak is told it has; the browser signs in there
    (the published port, on 127.0.0.1) and the containers check tokens there (an alias of
    Keycloak on their networks, the same port inside)."""
    issuer = urlsplit(environment("dashboard")["PULSE_OIDC_ISSUER"])
    command = [interpolate(part) for part in services()["keycloak"]["command"]]
    assert f"--hostname={issuer.scheme}://{issuer.netloc}" in command
    assert f"--http-port={issuer.port}" in command
    assert issuer.hostname is not None
    assert issuer.hostname.endswith(".localhost")
    assert _names()[issuer.hostname][0] == "keycloak"
    (published,) = published_ports("keycloak")
    assert int(published["default"]) == int(published["container"]) == issuer.port


def test_access_tokens_are_checked_with_the_workspaces_keys() -> None:
    """Whoever calls the workspace for its keys verifies Pulse's tokens with them: no shared
    secret, the workspace's issuer."""
    callers = {name for name, row in SERVICES.items() if "workspace" in row.calls}
    checking = callers - {"dashboard"}  # it relays the session's token, checking none
    assert checking == {"query-api", "reporter", "ingest-linkedin", "ingest-twitter", "ingest-meta"}
    for name in checking:
        env = environment(name)
        assert env.get("PULSE_JWT_JWKS_URL") == WORKSPACE_JWKS, name
        assert env.get("PULSE_JWT_ISSUER") == "pulse-workspace", name
        assert "PULSE_JWT_SECRET" not in env, name


def _required(service: str, key: str) -> str:
    """The variable a setting is required from (`${NAME:?...}`, no default), else a failure."""
    value = str((services()[service].get("environment") or {}).get(key, ""))
    match = re.fullmatch(r"\$\{(PULSE_[A-Z_]+):\?[^}]+\}", value)
    assert match, f"{service}: {key} is not a required variable: {value!r}"
    return match.group(1)


def test_the_workspace_and_the_dashboard_get_their_settings_and_generated_secrets() -> None:
    workspace, dashboard = environment("workspace"), environment("dashboard")
    for key, variable in WORKSPACE_SECRETS.items():
        assert _required("workspace", key) == variable, key
    for key, value in DASHBOARD_SETTINGS.items():
        assert dashboard.get(key) == value, f"dashboard: {key}"
    for key in ("PULSE_DASHBOARD_SESSION_KEYS", "PULSE_OIDC_CLIENT_SECRET"):
        assert _required("dashboard", key) == DASHBOARD_SETTINGS[key], key
    # One sign-in: the same realm and client for both; invite links lead to the dashboard.
    for key in ("PULSE_OIDC_ISSUER", "PULSE_OIDC_CLIENT_ID"):
        assert workspace[key] == dashboard[key], key
    assert workspace["PULSE_DASHBOARD_URL"] == dashboard["PULSE_DASHBOARD_PUBLIC_URL"]
    assert workspace["PULSE_SMTP_HOST"] == "mailpit"
    # The realm Keycloak imports, with the dashboard's public URL as its client's redirect.
    realm = json.loads((ROOT / "deploy/local/keycloak/pulse-realm.json").read_text())
    assert urlsplit(dashboard["PULSE_OIDC_ISSUER"]).path == f"/realms/{realm['realm']}"
    assert dashboard["PULSE_OIDC_CLIENT_ID"] in {c["clientId"] for c in realm["clients"]}
    assert environment("keycloak")["DASHBOARD_URL"] == dashboard["PULSE_DASHBOARD_PUBLIC_URL"]
    setup = environment("keycloak-setup")
    assert setup["PULSE_DASHBOARD_URL"] == dashboard["PULSE_DASHBOARD_PUBLIC_URL"]
    assert (
        _required("keycloak-setup", "PULSE_KEYCLOAK_DASHBOARD_CLIENT_SECRET")
        == (DASHBOARD_SETTINGS["PULSE_OIDC_CLIENT_SECRET"])
    )


def test_the_reporter_gets_its_settings_and_generated_secrets() -> None:
    """Its generated secrets (the service token the same as the workspace's), the servers it
    calls by their names on its networks, Mailpit to send through, and links that lead to
    the dashboard as the browser reaches it."""
    reporter, dashboard = environment("reporter"), environment("dashboard")
    for key, variable in REPORTER_SECRETS.items():
        assert _required("reporter", key) == variable, key
    assert _required("workspace", "PULSE_REPORTER_SERVICE_TOKEN") == _required(
        "reporter", "PULSE_REPORTER_SERVICE_TOKEN"
    )
    for name in ("query-api", "workspace"):
        key = f"PULSE_{name.upper().replace('-', '_')}_URL"
        assert reporter[key] == f"http://{name}:{port_of(name)}", key
    assert dashboard["PULSE_REPORTER_URL"] == f"http://reporter:{port_of('reporter')}"
    assert reporter["PULSE_SMTP_HOST"] == "mailpit"
    assert reporter["PULSE_DASHBOARD_URL"] == dashboard["PULSE_DASHBOARD_PUBLIC_URL"]
    assert "PULSE_KAFKA_USERNAME" not in reporter
