"""PostgreSQL tables, as SQLAlchemy Core metadata.

Every analytics table carries ``business_id`` and leads its primary key and unique
constraints with it, so the tables can later be distributed by business (Citus) without
rewriting a query. ``post_metric_snapshots`` is range-partitioned by ``observed_at``
(monthly partitions made by ``pulse_ensure_snapshot_partitions``), so old months can be
detached. The Alembic migrations in ``pulse_shared/migrations`` create exactly this.

What metadata cannot say: the reader role sees the rows of an analytics table only for
the business its transaction sets in ``pulse.business_id`` (row-level security, migration
0008); a new table with ``business_id`` gets the same policy in its migration
(tests/security/test_row_level_security.py checks every one the reader may read).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.dialects.postgresql.base import PGDialect

from pulse_shared.events import CONTENT_TYPES, PLATFORMS
from pulse_shared.roles import ROLES

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The event's metric names and the columns that hold them in post_analytics and
# post_metric_snapshots. Counts carry a _count suffix as in the original design.
METRIC_COLUMNS: dict[str, str] = {
    "likes": "likes_count",
    "comments": "comments_count",
    "shares": "shares_count",
    "reactions": "reactions_count",
    "retweets": "retweets_count",
    "quote_tweets": "quote_tweets_count",
    "saves": "saves_count",
    "impressions": "impressions",
    "reach": "reach",
    "clicks": "clicks",
    "video_views": "video_views",
    "video_watch_time_s": "video_watch_time_s",
}

PLATFORM_ALL = "all"
# The metrics a summary adds up, which a platform may not report (a null in the snapshot):
# analytics_summaries.reported_<name> and activity_daily.reported_<name> count the posts
# that reported each (migration 0011).
SUMMARY_REPORTED = ("likes", "comments", "shares", "impressions", "reach", "clicks")
PERIOD_TYPES = ("daily", "weekly", "monthly", "yearly")
# syncing: connected, its past posts being discovered; active: polled; needs_reconnection:
# the platform refused its token for good (polling stops, history stays); disconnected: its
# tokens deleted by the business, its numbers kept.
ACCOUNT_STATUSES = ("syncing", "active", "needs_reconnection", "disconnected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def column_types(table: Table, names: Iterable[str]) -> str:
    """``name type`` of each of ``table``'s columns ``names``, as PostgreSQL spells the
    type: a scratch table's columns declared as the table's own are."""
    dialect = PGDialect()  # type: ignore[no-untyped-call]  # SQLAlchemy types it loosely
    return ", ".join(f"{name} {table.c[name].type.compile(dialect=dialect)}" for name in names)


def _created_updated() -> list[Column[object]]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def _metric_columns() -> list[Column[object]]:
    columns: list[Column[object]] = []
    for name, column in METRIC_COLUMNS.items():
        kind = Double if name == "video_watch_time_s" else BigInteger
        columns.append(
            Column(
                column,
                kind,
                CheckConstraint(f"{column} >= 0", name=f"{column}_non_negative"),
                nullable=True,
            )
        )
    return columns


businesses = Table(
    "businesses",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=True),
    Column("timezone", Text, nullable=False, server_default=text("'UTC'")),
    *_created_updated(),
    CheckConstraint("id > 0", name="positive_id"),
)

business_members = Table(
    "business_members",
    metadata,
    Column("business_id", BigInteger, ForeignKey("businesses.id", ondelete="CASCADE")),
    Column("user_id", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("business_id", "user_id"),
    CheckConstraint(_in("role", ROLES), name="role"),
    Index(None, "user_id"),
)

# --- teams: written by the workspace service only (pulse_shared.permissions) ---------------

# Who has signed in: the identity provider's subject, and what it said of the person.
users = Table(
    "users",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("email", Text, nullable=True),
    Column("name", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_users_email_lower", func.lower(text("email"))),
)

# A single-use invitation by email address; only a digest of its secret is kept.
invites = Table(
    "invites",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column(
        "business_id", BigInteger, ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    ),
    Column("email", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("secret_sha256", LargeBinary, nullable=False, unique=True),
    Column("invited_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=True),
    Column("accepted_by", Text, nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    CheckConstraint(_in("role", ROLES), name="role"),
    CheckConstraint("email = lower(email)", name="email_lower"),
    Index(None, "business_id", "created_at"),
)

# Personal, read-only API tokens, each for one business; only a digest of each is kept.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column(
        "business_id", BigInteger, ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    ),
    Column("user_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    # The token's first characters, to tell tokens apart in a listing.
    Column("prefix", Text, nullable=False),
    Column("secret_sha256", LargeBinary, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index(None, "business_id", "user_id"),
)

# What changed in a business's team and connections, by whom (owners and admins read it).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column(
        "business_id", BigInteger, ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    ),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject", Text, nullable=True),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index(None, "business_id", "id"),
)

published_posts = Table(
    "published_posts",
    metadata,
    Column("business_id", BigInteger, ForeignKey("businesses.id"), nullable=False),
    Column("id", BigInteger, Identity(always=False), nullable=False),
    Column("platform", Text, nullable=False),
    Column("platform_post_id", Text, nullable=False),
    Column("account_id", Text, nullable=False),
    Column("content_preview", Text, nullable=False, server_default=text("''")),
    Column("content_type", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("platform_post_url", Text, nullable=True),
    Column("video_duration_s", Double, nullable=True),
    Column("thumbnail_url", Text, nullable=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    # Gone from the platform (posts.removed.v1): no longer polled, its history kept.
    Column("removed_at", DateTime(timezone=True), nullable=True),
    *_created_updated(),
    PrimaryKeyConstraint("business_id", "id"),
    UniqueConstraint("business_id", "platform", "platform_post_id"),
    CheckConstraint(_in("platform", PLATFORMS), name="platform"),
    CheckConstraint(_in("content_type", CONTENT_TYPES), name="content_type"),
    # The period indexes carry what the period queries read of a post (id to join
    # post_analytics, platform, content type): an index-only scan, no heap page per post.
    Index(
        None,
        "business_id",
        "published_at",
        postgresql_include=["id", "platform", "content_type"],
    ),
    Index(
        None,
        "business_id",
        "platform",
        "published_at",
        postgresql_include=["id", "content_type"],
    ),
    # Pulse's post ids are unique (an identity); this finds a post by id alone.
    Index(None, "id"),
)

post_analytics = Table(
    "post_analytics",
    metadata,
    Column("business_id", BigInteger, nullable=False),
    Column("post_id", BigInteger, nullable=False),
    Column("platform", Text, nullable=False),
    Column("platform_post_id", Text, nullable=False),
    Column("platform_post_url", Text, nullable=True),
    *_metric_columns(),
    Column("engagement_rate", Double, nullable=False, server_default=text("0")),
    Column("click_through_rate", Double, nullable=False, server_default=text("0")),
    Column("fetched_at", DateTime(timezone=True), nullable=False),
    *_created_updated(),
    PrimaryKeyConstraint("business_id", "post_id"),
    ForeignKeyConstraint(
        ["business_id", "post_id"],
        ["published_posts.business_id", "published_posts.id"],
        ondelete="CASCADE",
    ),
    UniqueConstraint("business_id", "platform", "platform_post_id"),
    # Rewritten by every snapshot: room on each page keeps those updates HOT.
    postgresql_with={"fillfactor": 70},
)

post_metric_snapshots = Table(
    "post_metric_snapshots",
    metadata,
    Column("business_id", BigInteger, nullable=False),
    Column("platform", Text, nullable=False),
    Column("platform_post_id", Text, nullable=False),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("source", Text, nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    *_metric_columns(),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The partition key must be part of the primary key; a snapshot is identified by
    # its post and the moment it was observed, so a duplicate delivery is a no-op.
    # The only index: a post's history is read by its key, a rebuild by the key's prefix.
    PrimaryKeyConstraint("business_id", "platform", "platform_post_id", "observed_at"),
    postgresql_partition_by="RANGE (observed_at)",
)

account_snapshots = Table(
    "account_snapshots",
    metadata,
    Column("business_id", BigInteger, nullable=False),
    Column("platform", Text, nullable=False),
    Column("account_id", Text, nullable=False),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column(
        "followers",
        BigInteger,
        CheckConstraint("followers >= 0", name="followers_non_negative"),
        nullable=False,
    ),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("business_id", "platform", "account_id", "observed_at"),
    Index(None, "business_id", "observed_at"),
)

analytics_summaries = Table(
    "analytics_summaries",
    metadata,
    Column("business_id", BigInteger, nullable=False),
    Column("platform", Text, nullable=False),
    Column("period_type", Text, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("total_posts", BigInteger, nullable=False, server_default=text("0")),
    Column("total_likes", BigInteger, nullable=False, server_default=text("0")),
    Column("total_comments", BigInteger, nullable=False, server_default=text("0")),
    Column("total_shares", BigInteger, nullable=False, server_default=text("0")),
    Column("total_impressions", BigInteger, nullable=False, server_default=text("0")),
    Column("total_reach", BigInteger, nullable=False, server_default=text("0")),
    Column("total_clicks", BigInteger, nullable=False, server_default=text("0")),
    Column("avg_engagement_rate", Double, nullable=False, server_default=text("0")),
    Column("engagement_rate", Double, nullable=False, server_default=text("0")),
    Column("avg_impressions", Double, nullable=False, server_default=text("0")),
    Column("follower_growth", BigInteger, nullable=True),
    Column("best_post_id", BigInteger, nullable=True),
    Column("best_post_engagement_rate", Double, nullable=True),
    *_created_updated(),
    # What exact roll-ups need: avg_engagement_rate = engagement_rate_sum / rated_posts.
    Column("rated_posts", BigInteger, nullable=False, server_default=text("0")),
    Column("engagement_rate_sum", Double, nullable=False, server_default=text("0")),
    # Null means not reported (migration 0011): how many of the period's posts report each
    # metric, so that a total no post reported reads as null, not 0.
    *(
        Column(f"reported_{name}", BigInteger, nullable=False, server_default=text("0"))
        for name in SUMMARY_REPORTED
    ),
    # The click-through rate over the posts that report clicks: their impressions (the
    # weighted rate's denominator), and the mean per-post rate of those with impressions
    # (click_through_rate_sum / ctr_rated_posts).
    Column("ctr_impressions", BigInteger, nullable=False, server_default=text("0")),
    Column("ctr_rated_posts", BigInteger, nullable=False, server_default=text("0")),
    Column("click_through_rate_sum", Double, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("business_id", "platform", "period_type", "period_start"),
    CheckConstraint(_in("platform", (*PLATFORMS, PLATFORM_ALL)), name="platform"),
    CheckConstraint(_in("period_type", PERIOD_TYPES), name="period_type"),
    # Every batch moves its days' rows: room on each page keeps those updates HOT.
    postgresql_with={"fillfactor": 80},
)

# What the business's posts *gained* on each local day (activity-day trends), whatever day
# they were published: per post, its last snapshot of the day minus its last one before
# the day (none before counts from zero), summed. What a post had gathered before its first
# snapshot counts on its publish day when that is earlier (``attributed_posts``: an
# estimate, see pulse_shared.activity). Kept by the aggregator batch by batch, so a trend
# reads at most 366 rows per platform.
activity_daily = Table(
    "activity_daily",
    metadata,
    Column("business_id", BigInteger, nullable=False),
    Column("platform", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("active_posts", BigInteger, nullable=False),
    Column("likes", BigInteger, nullable=False),
    Column("comments", BigInteger, nullable=False),
    Column("shares", BigInteger, nullable=False),
    Column("impressions", BigInteger, nullable=False),
    Column("clicks", BigInteger, nullable=False),
    # Migration 0011: reach gained; posts whose gains before their first snapshot were
    # put on this day (their publish day); per metric, the day's posts reporting it.
    Column("reach", BigInteger, nullable=False, server_default=text("0")),
    Column("attributed_posts", BigInteger, nullable=False, server_default=text("0")),
    *(
        Column(f"reported_{name}", BigInteger, nullable=False, server_default=text("0"))
        for name in SUMMARY_REPORTED
    ),
    PrimaryKeyConstraint("business_id", "platform", "day"),
    CheckConstraint(_in("platform", PLATFORMS), name="platform"),
    # Moved by every batch, like the summaries' day rows.
    postgresql_with={"fillfactor": 80},
)

# Moments whose summary periods await recomputation (see pulse_shared.summaries): written
# in the transaction that changed the source rows, taken out all at once by the summary
# refresh (no index: nothing looks moments up).
summary_pending_moments = Table(
    "summary_pending_moments",
    metadata,
    Column("business_id", BigInteger, nullable=False),
    Column("platform", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

# The platform accounts a business connected, with their access tokens encrypted (Fernet,
# see pulse_shared.ingest.vault). A secret: the reader role may not read it.
connected_accounts = Table(
    "connected_accounts",
    metadata,
    Column("business_id", BigInteger, nullable=False),
    Column("platform", Text, nullable=False),
    Column("account_id", Text, nullable=False),
    # None once disconnected (its tokens are deleted, its row kept).
    Column("encrypted_token", LargeBinary, nullable=True),
    Column("encrypted_refresh_token", LargeBinary, nullable=True),
    Column("token_expires_at", DateTime(timezone=True), nullable=True),
    Column("refresh_expires_at", DateTime(timezone=True), nullable=True),
    # 'app' (an app-only token) or 'user' (a member's / page's token): which rate limits
    # the platform counts the calls against.
    Column("token_kind", Text, nullable=False, server_default=text("'user'")),
    Column("status", Text, nullable=False, server_default=text("'active'")),
    Column("status_reason", Text, nullable=True),
    # The account's name on the platform, and the member who connected it.
    Column("display_name", Text, nullable=False, server_default=text("''")),
    Column("connected_by", Text, nullable=True),
    # The sync's progress: posts discovered on the platform, and when it last listed them.
    Column("posts_found", Integer, nullable=False, server_default=text("0")),
    Column("last_synced_at", DateTime(timezone=True), nullable=True),
    *_created_updated(),
    PrimaryKeyConstraint("business_id", "platform", "account_id"),
    CheckConstraint(_in("platform", PLATFORMS), name="platform"),
    CheckConstraint(_in("status", ACCOUNT_STATUSES), name="status"),
    CheckConstraint(
        "status <> 'disconnected' OR (encrypted_token IS NULL AND encrypted_refresh_token IS NULL)",
        name="disconnected_without_tokens",
    ),
    CheckConstraint(
        "status = 'disconnected' OR encrypted_token IS NOT NULL", name="token_unless_disconnected"
    ),
    # Each ingest service reads the active accounts of its platform.
    Index(None, "platform", "status"),
    # One business at a time per platform account.
    Index(
        "uq_connected_accounts_platform_account_id_connected",
        "platform",
        "account_id",
        unique=True,
        postgresql_where=text("status <> 'disconnected'"),
    ),
    # The token refresher's scan: the tokens that expire soonest.
    Index(
        None,
        "platform",
        "token_expires_at",
        postgresql_where=text("token_expires_at IS NOT NULL"),
    ),
)

# --- reports and alerts (the reporter service is their only writer) ----------------------

REPORT_KINDS = ("weekly", "monthly")
DELIVERY_STATUSES = ("pending", "sent", "skipped", "failed")
SENSITIVITIES = ("low", "medium", "high")


def _business_fk() -> Column[int]:
    return Column(
        "business_id", BigInteger, ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False
    )


def _business_key() -> Column[int]:
    """A table of one row per business."""
    return Column(
        "business_id", BigInteger, ForeignKey("businesses.id", ondelete="CASCADE"), primary_key=True
    )


def _schedule_fk() -> Column[int]:
    return Column(
        "schedule_id",
        BigInteger,
        ForeignKey("report_schedules.id", ondelete="CASCADE"),
        nullable=False,
    )


def _alert_fk() -> Column[int]:
    return Column(
        "alert_id", BigInteger, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    )


def _at(name: str, nullable: bool = False) -> Column[object]:
    default = None if nullable else func.now()
    return Column(name, DateTime(timezone=True), nullable=nullable, server_default=default)


# Who receives which report of a business: weekly (Mondays) or monthly (the 2nd), in the
# business's time zone, covering the last complete week or month.
report_schedules = Table(
    "report_schedules",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    _business_fk(),
    Column("kind", Text, nullable=False),
    Column("recipients", ARRAY(Text), nullable=False),
    Column("include_csv", Boolean, nullable=False, server_default=text("false")),
    Column("paused", Boolean, nullable=False, server_default=text("false")),
    Column("created_by", Text, nullable=False),
    _at("created_at"),
    _at("updated_at"),
    CheckConstraint(_in("kind", REPORT_KINDS), name="kind"),
    Index(None, "business_id", "id"),
)

# A business's look in its reports: its colour and logo (bytes, never fetched from a URL).
report_branding = Table(
    "report_branding",
    metadata,
    _business_key(),
    Column("colour", Text, nullable=False),
    Column("logo", LargeBinary, nullable=True),
    Column("logo_media_type", Text, nullable=True),
    _at("updated_at"),
)

# Each report sent, skipped or failed, once per schedule and period: ``delivery_key`` is
# unique ("<schedule>:<period start>", a send-now's with its own suffix), so two replicas
# cannot both take one; a replica holds a pending one under a lease while it sends.
report_deliveries = Table(
    "report_deliveries",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    _business_fk(),
    _schedule_fk(),
    Column("delivery_key", Text, nullable=False, unique=True),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("reason", Text, nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _at("next_attempt_at"),
    Column("lease_owner", Text, nullable=True),
    _at("lease_until", nullable=True),
    # The mail's Message-ID, the same on every attempt: a receiving server that saw it can
    # tell a re-send (the one window: accepted by SMTP, not yet recorded as sent).
    Column("message_id", Text, nullable=False),
    # The recipients the mail server has accepted the report for, each recorded as it is:
    # a later attempt sends only to the others (lower-cased addresses).
    Column("sent_to", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    _at("created_at"),
    _at("finished_at", nullable=True),
    CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
    Index(None, "business_id", "schedule_id", "period_start"),
    Index(None, "next_attempt_at", postgresql_where=text("status = 'pending'")),
)

# Addresses that asked to receive a schedule's reports no more (its unsubscribe link), and
# addresses the mail server refused (bounces): neither is sent to again.
report_unsubscribes = Table(
    "report_unsubscribes",
    metadata,
    _schedule_fk(),
    Column("email", Text, nullable=False),
    _business_fk(),
    _at("at"),
    PrimaryKeyConstraint("schedule_id", "email"),
)

report_bounces = Table(
    "report_bounces",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    _business_fk(),
    Column("email", Text, nullable=False),
    Column("detail", Text, nullable=False),
    _at("at"),
    Index(None, "business_id", "email"),
)

# How a business is alerted: the sensitivity, who is mailed, the webhook (its signing
# secret is the reporter's to keep).
alert_settings = Table(
    "alert_settings",
    metadata,
    _business_key(),
    Column("sensitivity", Text, nullable=False, server_default=text("'medium'")),
    Column("email_recipients", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("webhook_url", Text, nullable=True),
    Column("webhook_secret", Text, nullable=True),
    _at("updated_at"),
    CheckConstraint(_in("sensitivity", SENSITIVITIES), name="sensitivity"),
)

# What changed, said once: ``alert_key`` is unique (kind, platform, metric, day).
alerts = Table(
    "alerts",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    _business_fk(),
    Column("alert_key", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("platform", Text, nullable=False),
    Column("metric", Text, nullable=True),
    Column("day", Date, nullable=False),
    Column("title", Text, nullable=False),
    Column("sentence", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("numbers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    _at("created_at"),
    CheckConstraint(_in("kind", ("anomaly", "reconnection")), name="kind"),
    Index(None, "business_id", "id"),
)

# Who has read which alert (each member marks their own).
alert_reads = Table(
    "alert_reads",
    metadata,
    _alert_fk(),
    Column("user_id", Text, nullable=False),
    _at("read_at"),
    PrimaryKeyConstraint("alert_id", "user_id"),
)

# Each alert's delivery by mail and to the webhook, retried until sent or given up.
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    _alert_fk(),
    Column("channel", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("detail", Text, nullable=True),
    _at("next_attempt_at"),
    _at("finished_at", nullable=True),
    PrimaryKeyConstraint("alert_id", "channel"),
    CheckConstraint(_in("channel", ("email", "webhook")), name="channel"),
    CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
)

REPORTER_TABLES = (
    "report_schedules",
    "report_branding",
    "report_deliveries",
    "report_unsubscribes",
    "report_bounces",
    "alert_settings",
    "alerts",
    "alert_reads",
    "alert_deliveries",
)

# Tables the SELECT-only reader role must not read (the migrations revoke its access): the
# token vault, the teams' tables (digests of secrets, people's addresses) and the
# reporter's (addresses, a webhook's secret), which query-api never needs.
SECRET_TABLES = (
    "connected_accounts",
    "users",
    "invites",
    "api_tokens",
    "audit_log",
    *REPORTER_TABLES,
)
