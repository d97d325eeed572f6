"""Row-level security for the reader role: a second wall around each business's analytics.

Every query of query-api (the reader role) filters on the business whose member is
asking. Should one ever forget that filter, or join across businesses, these policies
still show the reader only the rows of the business its transaction set in
``pulse.business_id`` (query-api sets it per transaction, ``SET LOCAL``), and without
that setting no row at all.

- Only the reader role has a policy. The owner (the aggregator, the only writer, the CLI,
  these migrations) bypasses row-level security, which is not forced; the ingest role has
  no grant on these tables; any other role sees no row.
- post_metric_snapshots: the parent's policy filters what is read through the parent,
  but a partition read directly would skip it. So every partition has row-level security
  on with no policy (the reader sees none of its rows there), the ones to come too:
  pulse_ensure_snapshot_partitions turns it on as it creates them.
- businesses and business_members keep no policy: they decide which business may be set
  (query-api's membership lookups read them before any business is known, in single
  autocommit statements) and hold no analytics.
- A post's page knows the post, not its business: pulse_member_post_business(post, user)
  tells a member of the post's business which business that is, and nobody else
  anything (SECURITY DEFINER, executable by the reader role only).

The reader role's name is configuration, read as the migration environment reads it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import context, op

from pulse_shared.settings import PulseSettings

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table with business_id that the reader role may read, as this revision found them.
TABLES = (
    "published_posts",
    "post_analytics",
    "post_metric_snapshots",
    "account_snapshots",
    "analytics_summaries",
    "activity_daily",
    "summary_pending_moments",
)
POLICY = "reader_sees_one_business"
# No setting (or an empty one, as a finished SET LOCAL leaves it): NULL, so no row.
TRANSACTIONS_BUSINESS = "nullif(current_setting('pulse.business_id', true), '')::bigint"

# pulse_ensure_snapshot_partitions as 0001 made it, with {after_create} after each
# CREATE TABLE IF NOT EXISTS (which may find the partition made by a writer it waited for).
ENSURE_PARTITIONS = """
CREATE OR REPLACE FUNCTION pulse_ensure_snapshot_partitions(first_at timestamptz,
                                                            last_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    month_start date := date_trunc('month', first_at AT TIME ZONE 'UTC')::date;
    last_month date := date_trunc('month', last_at AT TIME ZONE 'UTC')::date;
    part text;
BEGIN
    WHILE month_start <= last_month LOOP
        part := format('post_metric_snapshots_y%sm%s',
                       to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
        IF to_regclass(part) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext(part));
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF post_metric_snapshots '
                'FOR VALUES FROM (%L) TO (%L)',
                part,
                (month_start::timestamp AT TIME ZONE 'UTC'),
                ((month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC'));{after_create}
        END IF;
        month_start := (month_start + interval '1 month')::date;
    END LOOP;
END $$
"""
# Read directly, a partition shows the reader role nothing. Only where it is not on yet
# (pg_class read afresh): a writer that waited for another's partition must not ALTER it,
# which would lock every reader out of it until that writer's batch commits.
PARTITION_RLS = """
            IF NOT (SELECT relrowsecurity FROM pg_class WHERE oid = part::regclass) THEN
                EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
            END IF;"""

MEMBER_POST_BUSINESS = """
CREATE FUNCTION pulse_member_post_business(post bigint, member text) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT p.business_id FROM public.published_posts p
    JOIN public.business_members m ON m.business_id = p.business_id AND m.user_id = member
    WHERE p.id = post
    LIMIT 1
$$
"""


def _reader() -> str:
    """The reader role's name, quoted, from configuration as env.py reads it."""
    role = context.config.attributes.get("reader_role") or PulseSettings().database_reader_role
    return op.get_context().dialect.identifier_preparer.quote(role)


def _on_partitions(action: str) -> None:
    """ENABLE or DISABLE row-level security on every partition of the snapshots."""
    op.execute(
        f"""
        DO $$
        DECLARE part regclass;
        BEGIN
          FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                      WHERE inhparent = 'post_metric_snapshots'::regclass LOOP
            EXECUTE format('ALTER TABLE %s {action} ROW LEVEL SECURITY', part);
          END LOOP;
        END $$
        """  # noqa: S608 - our own constants only
    )


def upgrade() -> None:
    reader = _reader()
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON {table} FOR SELECT TO {reader} "
            f"USING (business_id = {TRANSACTIONS_BUSINESS})"
        )
    _on_partitions("ENABLE")
    op.execute(ENSURE_PARTITIONS.replace("{after_create}", PARTITION_RLS))
    op.execute(MEMBER_POST_BUSINESS)
    op.execute("REVOKE EXECUTE ON FUNCTION pulse_member_post_business(bigint, text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION pulse_member_post_business(bigint, text) TO {reader}")


def downgrade() -> None:
    op.execute("DROP FUNCTION pulse_member_post_business(bigint, text)")
    op.execute(ENSURE_PARTITIONS.replace("{after_create}", ""))
    _on_partitions("DISABLE")
    for table in TABLES:
        op.execute(f"DROP POLICY {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
