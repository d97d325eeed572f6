"""Who may do what: every service's permissions, in one table (DESIGN.md, "Least privilege").

One row per service: its PostgreSQL role, its Redis ACL user (key patterns and commands),
the Kafka topics it consumes and produces, and the network arrows it may use. Everything a
row does not name is denied. Later issues extend the rows, never a copy of them:

- ``deploy/local/credentials.py`` generates each principal's password (``.run/credentials.env``)
  and writes the Redis ACL file from ``REDIS_USERS`` (``deploy/local/redis.sh`` loads it);
  ``deploy/local/services.sh`` gives each service its own ``PULSE_REDIS_URL``;
- ``tests/security/test_least_privilege.py`` proves each row against the running servers
  (grants, ACL users, refused keys and commands), ``tests/test_compose.py`` checks the
  compose file's users, ``tests/test_k8s.py`` evaluates the NetworkPolicies of
  ``deploy/k8s`` and requires that they allow exactly ``arrows()``;
- ``kafka_acls()`` turns the Kafka columns into ACLs, which ``pulse_shared.kafka_access``
  applies with each principal's SCRAM credential as the broker's admin (deploy/local and
  compose's migrate; the tests for topics of their own) and deploy/k8s declares as Strimzi
  KafkaUsers; ``tests/security/test_kafka_access.py`` proves them on the running broker.

Standard library only: the local scripts read it before the workspace is installed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# --- the principals' names -----------------------------------------------------------------

POSTS_PUBLISHED = "posts.published.v1"  # pulse_shared.topics' names (a test holds them equal)
POSTS_REMOVED = "posts.removed.v1"
METRICS_OBSERVED = "metrics.observed.v1"
ACCOUNTS_OBSERVED = "accounts.observed.v1"
REFRESH_REQUESTED = "refresh.requested.v1"
# What the aggregator consumes (and dead-letters to each one's .dlq).
AGGREGATED = (POSTS_PUBLISHED, POSTS_REMOVED, METRICS_OBSERVED, ACCOUNTS_OBSERVED)

# PostgreSQL roles (deploy/local/postgres.sh creates them as the superuser; the migrations
# grant what DATABASE_ROLES says, and the tests check the grants against it).
SUPERUSER = "postgres"
APP_ROLE = "pulse"
READER_ROLE = "pulse_reader"
INGEST_ROLE = "pulse_ingest"
WORKSPACE_ROLE = "pulse_workspace"
REPORTER_ROLE = "pulse_reporter"
# The reporter's own tables: pulse_shared.tables.REPORTER_TABLES' names (a test holds them
# equal; this module reads no SQLAlchemy).
REPORTER_TABLES = (
    "report_schedules", "report_branding", "report_deliveries", "report_unsubscribes",
    "report_bounces", "alert_settings", "alerts", "alert_reads", "alert_deliveries",
)  # fmt: skip

# Servers and what lies outside the cluster, with their ports.
POSTGRES, REDIS, KAFKA = "postgres", "redis", "kafka"
INTERNET = "internet"  # the platforms' APIs, the identity provider, alert webhooks (HTTPS)
SMTP = "smtp"  # the mail server invites and reports leave through (submission port)
INGRESS = "ingress"  # the ingress controller: the public's way in
SERVER_PORTS = {POSTGRES: 5432, REDIS: 6379, KAFKA: 9092, INTERNET: 443, SMTP: 587}


INGEST_SERVICES = ("ingest-linkedin", "ingest-twitter", "ingest-meta")

# --- the rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseRole:
    """A PostgreSQL role: ``owner`` owns the database (every privilege on every table);
    otherwise ``grants`` maps a table (``*``: every table but ``except_tables``) to its
    privileges, and nothing else is granted."""

    name: str
    password_var: str
    owner: bool = False
    grants: Mapping[str, frozenset[str]] = field(default_factory=dict)
    except_tables: tuple[str, ...] = ()

    def privileges_on(self, table: str) -> frozenset[str]:
        if table in self.grants:
            return self.grants[table]
        if table in self.except_tables:
            return frozenset()
        return self.grants.get("*", frozenset())


@dataclass(frozen=True)
class RedisUser:
    """A Redis ACL user: ``commands`` on the keys of ``keys`` (read and write) and
    ``read_keys`` (read only); with ``scripts`` its own Lua scripts too (EVALSHA, loaded
    with SCRIPT LOAD), whose every ``redis.call`` is checked against the same rules.
    ``categories`` replace the command list with ACL categories (the tests' user)."""

    name: str
    commands: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    read_keys: tuple[str, ...] = ()
    scripts: bool = False
    categories: tuple[str, ...] = ()

    @property
    def password_var(self) -> str:
        return f"PULSE_REDIS_{self.name.upper().replace('-', '_')}_PASSWORD"

    def rules(self) -> str:
        """The user's ACL rules (Redis 7), without its password and on/off flag."""
        always = ("ping", "select")  # SELECT: db numbers are no boundary; keys are
        if self.categories:
            granted = list(self.categories)
        else:
            granted = ["-@all", *(f"+{c}" for c in (*always, *self.commands))]
        parts = ["resetchannels", *granted]
        parts += [f"~{p}" for p in self.keys] + [f"%R~{p}" for p in self.read_keys]
        if self.scripts:
            # A script's declared keys need read and write access, so a key that is
            # read-only to the user is declared through this selector; the commands the
            # script runs are still held to the rules above.
            patterns = " ".join(f"~{p}" for p in (*self.keys, *self.read_keys))
            parts.append(f"(-@all +evalsha +script|load {patterns})")
        return " ".join(parts)


@dataclass(frozen=True)
class KafkaAccess:
    """The topics a principal reads (as ``group``, or any group starting with
    ``group_prefix``) and writes: the design's topic table."""

    consumes: tuple[str, ...] = ()
    produces: tuple[str, ...] = ()
    group: str | None = None
    group_prefix: str | None = None

    def __bool__(self) -> bool:
        return bool(self.consumes or self.produces)


@dataclass(frozen=True, order=True)
class KafkaAcl:
    """One ALLOW rule of the broker's authorizer: ``principal`` may ``operation`` the
    ``resource`` (``topic`` or ``group``) named ``name`` (or every name starting with it,
    when ``prefixed``), from any host."""

    principal: str
    resource: str
    name: str
    operation: str
    prefixed: bool = False


@dataclass(frozen=True)
class Service:
    """One deployable service. ``calls``: what it opens connections to (servers, other
    services by name, ``internet``); ``public``: reached from the ingress controller.
    DNS is allowed to every service and not written here."""

    name: str
    port: int | None
    database_role: str | None = None
    redis_user: str | None = None
    kafka: KafkaAccess = KafkaAccess()
    calls: tuple[str, ...] = ()
    public: bool = False
    dev_only: bool = False  # the platform simulator: never in production


DATABASE_ROLES: dict[str, DatabaseRole] = {
    role.name: role
    for role in (
        # The owner of the schema: migrations and the one writer of analytics.
        DatabaseRole(APP_ROLE, "PULSE_PG_APP_PASSWORD", owner=True),
        # SELECT on every table, not the ones holding secrets (tables.SECRET_TABLES); of
        # an analytics table, only the rows of the business its transaction sets
        # (row-level security, migration 0008).
        DatabaseRole(
            READER_ROLE,
            "PULSE_PG_READER_PASSWORD",
            grants={"*": frozenset({"SELECT"})},
            except_tables=(
                "connected_accounts",
                "users",
                "invites",
                "api_tokens",
                "audit_log",
                *REPORTER_TABLES,
            ),
        ),
        # The token vault, who is a member of which business with which role (the connect
        # routes check it), and the audit log's lines of connections; nothing of the
        # analytics.
        DatabaseRole(
            INGEST_ROLE,
            "PULSE_PG_INGEST_PASSWORD",
            grants={
                "connected_accounts": frozenset({"SELECT", "INSERT", "UPDATE"}),
                "business_members": frozenset({"SELECT"}),
                "audit_log": frozenset({"INSERT"}),
            },
        ),
        # The teams (the workspace service): members and their roles, the people who
        # signed in, invites, API tokens, the audit log; businesses it may create
        # (onboarding) and read, never rename or delete; nothing of the analytics.
        DatabaseRole(
            WORKSPACE_ROLE,
            "PULSE_PG_WORKSPACE_PASSWORD",
            grants={
                "businesses": frozenset({"SELECT", "INSERT"}),
                "business_members": frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"}),
                "users": frozenset({"SELECT", "INSERT", "UPDATE"}),
                "invites": frozenset({"SELECT", "INSERT", "UPDATE"}),
                "api_tokens": frozenset({"SELECT", "INSERT", "UPDATE"}),
                "audit_log": frozenset({"SELECT", "INSERT"}),
            },
        ),
        # The reporter: its schedules, deliveries and alerts (its tables, no other writer),
        # and a business's name and time zone; nothing of the analytics (it reads them
        # through query-api) and nothing of the teams (members through the workspace).
        DatabaseRole(
            REPORTER_ROLE,
            "PULSE_PG_REPORTER_PASSWORD",
            grants={
                **{t: frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"}) for t in REPORTER_TABLES},
                "businesses": frozenset({"SELECT"}),
            },
        ),
    )
}
SUPERUSER_PASSWORD_VAR = "PULSE_PG_SUPERUSER_PASSWORD"  # noqa: S105 - a variable's name

# The services' own secrets, generated at install beside the principals' passwords: the
# workspace's signing key (an Ed25519 private key's 32 bytes, base64url; a comma-separated
# list when rotating, the first signs), the operator's key to the workspace's operator
# routes (`pulse token`, `pulse business add-owner`), the dashboard server's session
# key (Fernet: what a session keeps of the identity provider's tokens is encrypted), the
# key the reporter signs its unsubscribe links with, and the reporter's bearer to the
# workspace's service route (given to both).
SEED_SECRETS = (
    "PULSE_WORKSPACE_SIGNING_KEYS",
    "PULSE_DASHBOARD_SESSION_KEYS",
    "PULSE_REPORTER_LINK_KEYS",
)
TOKEN_SECRETS = ("PULSE_WORKSPACE_OPERATOR_TOKEN", "PULSE_REPORTER_SERVICE_TOKEN")

# What the poll schedule (pulse_shared.ingest.tracking), the rate-limit budgets
# (ingest.ratelimit) and the webhook deduplication (ingest.dedupe) run, scripts included.
_SCHEDULE_COMMANDS = (
    "get", "set", "del", "hget", "hmget", "hset", "hdel", "hincrby", "hvals",
    "sadd", "srem", "smembers", "zadd", "zrem", "zscore", "zcount", "zcard", "zrange",
    "zrangebyscore", "zremrangebyscore", "pexpireat", "time",
)  # fmt: skip
# Request rate limits shared by replicas (pulse_shared.http_ratelimit).
_HTTP_LIMITS = "pulse:http-rl:*"
_HTTP_LIMIT_COMMANDS = ("incrby", "expire")


def _ingest_user(service: str, platforms: Iterable[str], app: str) -> RedisUser:
    """An ingest service: its platforms' poll schedules (and account syncs), its app's
    budgets, its webhooks, its connect flow's single-use states (GETDEL)."""
    return RedisUser(
        service,
        commands=(*_SCHEDULE_COMMANDS, *_HTTP_LIMIT_COMMANDS, "getdel"),
        keys=(
            *(f"pulse:track:{{{p}}}:*" for p in platforms),
            f"pulse:rl:{{{app}}}:*",
            f"pulse:webhook:{{{service}}}:*",
            f"pulse:oauth:{{{service}}}:*",
            _HTTP_LIMITS,
        ),
        scripts=True,
    )


REDIS_USERS: dict[str, RedisUser] = {
    user.name: user
    for user in (
        # Bumps a business's cache version after each commit (pulse_shared.cache: INCR is
        # sent as INCRBY).
        RedisUser("aggregator", commands=("incrby",), keys=("pulse:cache-version:*",)),
        # Its cached answers and locks; the versions it only reads (pulse_query_api.cache).
        RedisUser(
            "query-api",
            commands=("get", "set", "del", "pttl", *_HTTP_LIMIT_COMMANDS),
            # Answers, and the memberships that vouch for a member while PostgreSQL is
            # unreachable (pulse_query_api.membership).
            keys=("pulse:answer:*", "pulse:member:*", _HTTP_LIMITS),
            read_keys=("pulse:cache-version:*",),
            scripts=True,
        ),
        # Forgets the membership a removed member's vouching rests on
        # (pulse_query_api.membership), at once; its own request rate limits.
        RedisUser(
            "workspace",
            commands=("del", *_HTTP_LIMIT_COMMANDS),
            keys=("pulse:member:*", _HTTP_LIMITS),
        ),
        # Its own request rate limits, nothing else.
        RedisUser("reporter", commands=_HTTP_LIMIT_COMMANDS, keys=(_HTTP_LIMITS,)),
        # The signed-in sessions (server-side; the cookie holds only their id).
        RedisUser(
            "dashboard",
            commands=("get", "set", "del", *_HTTP_LIMIT_COMMANDS),
            keys=("pulse:session:*", _HTTP_LIMITS),
        ),
        _ingest_user("ingest-linkedin", ["linkedin"], "linkedin"),
        _ingest_user("ingest-twitter", ["twitter"], "twitter"),
        _ingest_user("ingest-meta", ["facebook", "instagram"], "meta"),
        # The `pulse` command's backfill: every platform's poll schedule; its summary
        # rebuilds and time-zone changes bump the business's cache version.
        RedisUser(
            "operator",
            commands=(*_SCHEDULE_COMMANDS, "incr"),
            keys=("pulse:track:*", "pulse:cache-version:*"),
            scripts=True,
        ),
        # The test suite: its sessions' keys (db 15), nothing that spans the server.
        RedisUser("tests", categories=("+@all", "-@dangerous"), keys=("pulse:*", "test-*")),
    )
}
# Every key and command, for deploy/local's scripts (start, stop, ACL LOAD) and the
# benchmarks (they flush a database of their own).
REDIS_ADMIN = RedisUser("admin", categories=("+@all",), keys=("*",))

# Kafka's super users: admin creates the topics, SCRAM credentials and ACLs (deploy/local,
# the tests' session setup, the benchmarks); controller is the KRaft controller listener's
# own (PLAIN) user, for the broker's connection to it.
KAFKA_ADMIN, KAFKA_CONTROLLER = "admin", "controller"
# Where the tests' topics and groups start (conftest: test-<hex>.): theirs to do anything with.
TESTS_KAFKA_PREFIX = "test-"


SERVICES: dict[str, Service] = {
    service.name: service
    for service in (
        # The backend-for-frontend: the OpenID client (its sessions in Redis), the one
        # origin of the page, relaying to query-api, the workspace, the reporter and the
        # connect routes.
        Service(
            "dashboard",
            8080,
            redis_user="dashboard",
            calls=(REDIS, "query-api", "workspace", "reporter", INTERNET, *INGEST_SERVICES),
            public=True,
        ),
        # Members, roles, invites, API tokens, the audit log; Pulse's access tokens (RS256,
        # its JWKS read by query-api); invites sent over SMTP; the identity provider's
        # keys fetched to check an ID token.
        Service(
            "workspace",
            8400,
            database_role=WORKSPACE_ROLE,
            redis_user="workspace",
            calls=(POSTGRES, REDIS, SMTP, INTERNET),
        ),
        # Scheduled reports and alerts: the analytics read through query-api, members and
        # its service token's checks through the workspace (its JWKS too); reports and
        # alerts mailed over SMTP, alerts posted to Slack-compatible webhooks (public
        # addresses, HTTPS). Reached only through the dashboard's relay.
        Service(
            "reporter",
            8500,
            database_role=REPORTER_ROLE,
            redis_user="reporter",
            calls=(POSTGRES, REDIS, SMTP, INTERNET, "query-api", "workspace"),
        ),
        Service(
            "query-api",
            8000,
            database_role=READER_ROLE,
            redis_user="query-api",
            kafka=KafkaAccess(produces=(REFRESH_REQUESTED,)),
            # The workspace: its JWKS, the keys of the access tokens it verifies.
            calls=(POSTGRES, REDIS, KAFKA, "workspace"),
        ),
        Service(
            "aggregator",
            8100,
            database_role=APP_ROLE,
            redis_user="aggregator",
            kafka=KafkaAccess(
                consumes=AGGREGATED,
                produces=tuple(f"{t}.dlq" for t in AGGREGATED),
                group="pulse-aggregator",
            ),
            calls=(POSTGRES, REDIS, KAFKA),
        ),
        *(
            Service(
                f"ingest-{platform}",
                port,
                database_role=INGEST_ROLE,
                redis_user=f"ingest-{platform}",
                kafka=KafkaAccess(
                    consumes=(POSTS_PUBLISHED, POSTS_REMOVED, REFRESH_REQUESTED),
                    # Discovery announces the posts it finds and the ones that are gone.
                    produces=(POSTS_PUBLISHED, POSTS_REMOVED, METRICS_OBSERVED, ACCOUNTS_OBSERVED),
                    group=f"ingest-{platform}",
                ),
                calls=(POSTGRES, REDIS, KAFKA, INTERNET, "workspace"),
                public=True,  # the platforms' webhooks
            )
            for platform, port in (("linkedin", 8101), ("twitter", 8102), ("meta", 8103))
        ),
        # The schema migrations (a Job, compose's one-shot `migrate`), as the owner role.
        Service("migrate", None, database_role=APP_ROLE, calls=(POSTGRES,)),
        # Dev only: serves the platforms' APIs to the ingest services, announces its posts,
        # and delivers signed webhooks to them.
        Service(
            "platform-sim",
            8200,
            kafka=KafkaAccess(produces=(POSTS_PUBLISHED,)),
            calls=(KAFKA, "ingest-linkedin", "ingest-twitter", "ingest-meta"),
            dev_only=True,
        ),
    )
}
# `pulse replay-dlq`: reads a dead-letter topic in a group of its own (one per topic and
# filter) and re-publishes to the source topic; `pulse connections` reads group offsets.
OPERATOR_KAFKA = KafkaAccess(
    consumes=tuple(f"{t}.dlq" for t in AGGREGATED),
    produces=AGGREGATED,
    group_prefix="pulse-cli.",
)

# In dev the ingest services call the simulator instead of the internet.
DEV_CALLS: dict[str, tuple[str, ...]] = {
    f"ingest-{p}": ("platform-sim",) for p in ("linkedin", "twitter", "meta")
}


@dataclass(frozen=True, order=True)
class Arrow:
    """``source`` may open a TCP connection to ``target`` on ``port``."""

    source: str
    target: str
    port: int


def port_of(target: str) -> int:
    if target in SERVER_PORTS:
        return SERVER_PORTS[target]
    port = SERVICES[target].port
    assert port is not None, f"{target} listens on no port"
    return port


def arrows(dev: bool = False) -> set[Arrow]:
    """Every connection the table allows (the NetworkPolicies allow these and no other)."""
    found: set[Arrow] = set()
    for service in SERVICES.values():
        if service.dev_only and not dev:
            continue
        calls = [*service.calls, *(DEV_CALLS.get(service.name, ()) if dev else ())]
        found |= {Arrow(service.name, target, port_of(target)) for target in calls}
        if service.public:
            assert service.port is not None
            found.add(Arrow(INGRESS, service.name, service.port))
    return found


# --- Kafka's principals and ACLs -----------------------------------------------------------


def kafka_principals() -> dict[str, KafkaAccess]:
    """Every Kafka user but the super users: the services that use Kafka, and the operator."""
    found = {s.name: s.kafka for s in SERVICES.values() if s.kafka}
    found["operator"] = OPERATOR_KAFKA
    return found


def kafka_password_var(principal: str) -> str:
    return f"PULSE_KAFKA_{principal.upper().replace('-', '_')}_PASSWORD"


def kafka_acls(prefix: str = "") -> list[KafkaAcl]:
    """The ACLs of every principal for the topics and groups named with ``prefix`` (a
    deployment's ``PULSE_TOPIC_PREFIX``): READ of what it consumes and of its group, WRITE
    of what it produces (each implies DESCRIBE; WRITE also idempotent production).
    Nothing else is allowed: the broker denies what no ACL names."""
    acls: set[KafkaAcl] = set()
    for principal, access in kafka_principals().items():
        acls |= {KafkaAcl(principal, "topic", prefix + t, "read") for t in access.consumes}
        acls |= {KafkaAcl(principal, "topic", prefix + t, "write") for t in access.produces}
        if access.group is not None:
            acls.add(KafkaAcl(principal, "group", prefix + access.group, "read"))
        if access.group_prefix is not None:
            acls.add(KafkaAcl(principal, "group", prefix + access.group_prefix, "read", True))
    return sorted(acls)


def kafka_acls_of_the_tests() -> list[KafkaAcl]:
    """The test suite's user: anything on the topics and groups of its sessions."""
    return [
        KafkaAcl("tests", resource, TESTS_KAFKA_PREFIX, "all", prefixed=True)
        for resource in ("topic", "group")
    ]


# --- the generated credentials -------------------------------------------------------------


def password_vars() -> list[str]:
    """The name of every password deploy/local generates, in the file's order."""
    return [
        SUPERUSER_PASSWORD_VAR,
        *(role.password_var for role in DATABASE_ROLES.values()),
        REDIS_ADMIN.password_var,
        *(user.password_var for user in REDIS_USERS.values()),
        *(kafka_password_var(p) for p in (KAFKA_ADMIN, KAFKA_CONTROLLER)),
        *(kafka_password_var(p) for p in (*kafka_principals(), "tests")),
    ]


def credentials_file(run_dir: str | os.PathLike[str]) -> Path:
    """Where deploy/local keeps the generated passwords (mode 0600, never committed):
    ``credentials.env`` in its run directory (``PULSE_RUN_DIR``, by default ``.run``)."""
    return Path(run_dir) / "credentials.env"


def read_credentials(path: Path) -> dict[str, str]:
    """The generated passwords (``NAME=value`` lines), each overridden by the environment
    variable of the same name when that is set, as the scripts do."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: no generated credentials; `make infra` (deploy/local) creates them"
        ) from None
    found: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            found[name.strip()] = value.strip()
    return {name: os.environ.get(name) or value for name, value in found.items()}


DEFAULT_USER_OFF = "user default off resetpass resetkeys resetchannels -@all"


def redis_acl(password_hash: Callable[[RedisUser], str]) -> str:
    """The ACL file: the default user off, then admin and every user of the table, each
    with ``password_hash(user)`` (a SHA-256 in hex)."""
    lines = [DEFAULT_USER_OFF]
    for user in (REDIS_ADMIN, *REDIS_USERS.values()):
        lines.append(f"user {user.name} on #{password_hash(user)} {user.rules()}")
    return "\n".join(lines) + "\n"


def sha256_hex(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def describe() -> str:
    """The table as Markdown, one row per service (``python3 -m pulse_shared.permissions``)."""
    rows = [
        "| service | PostgreSQL | Redis (keys; read only) | Kafka consumes / produces | calls |",
        "|---|---|---|---|---|",
    ]
    for service in SERVICES.values():
        role = DATABASE_ROLES.get(service.database_role or "")
        if role is None:
            database = "-"
        elif role.owner:
            database = f"`{role.name}`: owner"
        else:
            granted = ", ".join(
                f"{t} {'/'.join(sorted(p))}" for t, p in sorted(role.grants.items())
            )
            excepted = f" (not {', '.join(role.except_tables)})" if role.except_tables else ""
            database = f"`{role.name}`: {granted}{excepted}"
        user = REDIS_USERS.get(service.redis_user or "")
        redis = (
            "-"
            if user is None
            else f"`{user.name}`: " + " ".join([*user.keys, *(f"{k} (r)" for k in user.read_keys)])
        )
        consumes, produces = service.kafka.consumes, service.kafka.produces
        kafka = f"{', '.join(consumes) or '-'} / {', '.join(produces) or '-'}"
        calls = ", ".join(service.calls) + (", from ingress" if service.public else "")
        dev = " (dev only)" if service.dev_only else ""
        rows.append(f"| {service.name}{dev} | {database} | {redis} | {kafka} | {calls} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(describe())
