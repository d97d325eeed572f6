"""``pulse replay-dlq``: look at the records a consumer dead-lettered, and send them back.

A dead-lettered record (see the aggregator) is the source record's key, value and
headers, plus ``pulse-dlq-reason``, ``-source-topic`` (the design's name, without a
prefix), ``-source-partition`` and ``-source-offset``.

Replaying reads ``<prefix><topic>.dlq`` in a consumer group of its own and re-publishes
each record to ``<prefix><topic>`` (a DLQ holds its own topic's records only: the
source-topic header is shown, not needed) with its key (so it lands on its post's
partition again) and its own headers (the ``pulse-dlq-*`` ones dropped: a record that
fails again is dead-lettered afresh with its new reason, not two). The group's position is committed
only after the broker acknowledged the re-published records (idempotent producer,
acks=all), so a second run replays nothing that the first one sent, and a run that dies
midway replays at most its last unacknowledged records again. That is harmless: every
event is idempotent (cumulative totals, newest ``observed_at`` wins).

A dry run reads from the same position and commits nothing: it shows what ``--apply``
would send. ``--filter-reason`` keeps a position of its own per filter text (its own
group), so records it passes over stay there for a run without a filter.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord
from rich.console import Console
from rich.table import Table

from pulse_cli.connections import CommandFailed, progress_bar, require_kafka, topic_partitions
from pulse_shared.kafka import make_producer
from pulse_shared.settings import PulseSettings
from pulse_shared.topics import (
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_REASON,
    DLQ_HEADER_TOPIC,
    DLQ_SUFFIX,
)

DLQ_HEADERS = {DLQ_HEADER_REASON, DLQ_HEADER_TOPIC, DLQ_HEADER_PARTITION, DLQ_HEADER_OFFSET}
# The DLQ position a replayed record came from, for whoever traces it later.
REPLAYED_FROM_HEADER = "pulse-replayed-from"
EXCERPT_CHARS = 120


@dataclass(frozen=True)
class DeadLetter:
    dlq_partition: int
    dlq_offset: int
    reason: str
    source_topic: str  # the design's name, as the header gives it (shown, not trusted)
    source_partition: str
    source_offset: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def excerpt(self) -> str:
        text = (self.value or b"").decode("utf-8", errors="replace")
        return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"

    def replay_headers(self) -> list[tuple[str, bytes]]:
        kept = [(name, value) for name, value in self.headers if name not in DLQ_HEADERS]
        origin = f"{self.dlq_partition}:{self.dlq_offset}".encode()
        return [*kept, (REPLAYED_FROM_HEADER, origin)]


@dataclass
class ReplayReport:
    letters: list[DeadLetter]
    examined: int
    replayed: int
    remaining: int  # records left in the DLQ past this run (the --limit stopped it)


def design_topic(topic: str) -> str:
    """The source topic's design name, whether given as the topic or as its DLQ."""
    return topic.removesuffix(DLQ_SUFFIX)


def group_id(settings: PulseSettings, source_topic: str, filter_reason: str | None) -> str:
    group = f"{settings.topic_prefix}pulse-cli.replay-dlq.{source_topic}"
    if filter_reason:
        digest = hashlib.sha256(filter_reason.encode()).hexdigest()[:12]
        group += f".reason-{digest}"
    return group


def _header(headers: dict[str, bytes], name: str, default: str = "") -> str:
    value = headers.get(name)
    return default if value is None else value.decode("utf-8", errors="replace")


def _letter(record: ConsumerRecord[Any, Any]) -> DeadLetter:
    headers = tuple((name, bytes(value)) for name, value in record.headers)
    by_name = dict(headers)
    return DeadLetter(
        dlq_partition=record.partition,
        dlq_offset=record.offset,
        reason=_header(by_name, DLQ_HEADER_REASON, "(no reason given)"),
        source_topic=_header(by_name, DLQ_HEADER_TOPIC, "?"),
        source_partition=_header(by_name, DLQ_HEADER_PARTITION, "?"),
        source_offset=_header(by_name, DLQ_HEADER_OFFSET, "?"),
        key=record.key,
        value=record.value,
        headers=headers,
    )


async def replay_dlq(
    settings: PulseSettings,
    topic: str,
    limit: int | None,
    apply: bool,
    filter_reason: str | None,
) -> ReplayReport:
    """Read the DLQ from the group's position; with ``apply``, re-publish and commit."""
    await require_kafka(settings)
    source = design_topic(topic)
    dlq_topic = settings.topic(source + DLQ_SUFFIX)
    partitions = await topic_partitions(settings, dlq_topic)
    if partitions is None:
        raise CommandFailed(f"no topic {dlq_topic!r} (is {source!r} a Pulse topic?)")
    consumer = AIOKafkaConsumer(
        **settings.kafka().options(),
        group_id=group_id(settings, source, filter_reason),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=15000,
    )
    await consumer.start()
    producer = make_producer(settings.kafka()) if apply else None
    try:
        # Every partition assigned by hand (no group rebalance to wait for); the group
        # only keeps the committed position.
        assigned = [TopicPartition(dlq_topic, p) for p in partitions]
        consumer.assign(assigned)
        if producer is not None:
            await producer.start()
        ends = await consumer.end_offsets(assigned)
        target = settings.topic(source)
        return await _drain(consumer, producer, target, assigned, ends, limit, filter_reason)
    finally:
        if producer is not None:
            await producer.stop()
        await consumer.stop()


async def _drain(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer | None,
    target: str,
    assigned: list[TopicPartition],
    ends: dict[TopicPartition, int],
    limit: int | None,
    filter_reason: str | None,
) -> ReplayReport:
    starts = {tp: await consumer.position(tp) for tp in assigned}
    pending = {tp for tp in assigned if starts[tp] < ends[tp]}
    total = sum(max(ends[tp] - starts[tp], 0) for tp in assigned)
    letters: list[DeadLetter] = []
    examined = replayed = 0
    with progress_bar() as progress:
        task = progress.add_task("replaying" if producer else "reading", total=total)
        while pending and (limit is None or len(letters) < limit):
            batches = await consumer.getmany(*pending, timeout_ms=2000, max_records=500)
            if not batches:
                # The end offsets were read at the start; nothing newer is waited for.
                break
            commit: dict[TopicPartition, int] = {}
            sends: list[asyncio.Future[Any]] = []
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        pending.discard(tp)
                        break
                    if limit is not None and len(letters) >= limit:
                        break
                    examined += 1
                    progress.advance(task)
                    commit[tp] = record.offset + 1
                    letter = _letter(record)
                    if filter_reason and filter_reason.lower() not in letter.reason.lower():
                        continue
                    letters.append(letter)
                    if producer is not None:
                        sends.append(
                            await producer.send(
                                target,
                                letter.value,
                                key=letter.key,
                                headers=letter.replay_headers(),
                            )
                        )
                # Whatever was fetched past the limit is read again (by this run's count
                # of what remains, and by the next run).
                consumer.seek(tp, commit.get(tp, records[0].offset))
                if commit.get(tp, 0) >= ends[tp]:
                    pending.discard(tp)
            if producer is not None:
                # Only what the broker acknowledged moves the group's position.
                await asyncio.gather(*sends)
                replayed += len(sends)
                if commit:
                    await consumer.commit(commit)
    remaining = 0
    for tp in assigned:
        remaining += max(ends[tp] - await consumer.position(tp), 0)
    return ReplayReport(letters, examined, replayed, remaining)


def print_letters(letters: list[DeadLetter]) -> None:
    """The records as a table on stdout (the command's answer)."""
    if not letters:
        print("no dead-lettered records to replay")
        return
    table = Table(title=f"{len(letters)} dead-lettered record(s)", show_lines=False)
    table.add_column("dlq p:offset", no_wrap=True)
    table.add_column("source", no_wrap=True)
    table.add_column("reason", overflow="fold", max_width=60)
    table.add_column("body", overflow="fold", max_width=60)
    for letter in letters:
        table.add_row(
            f"{letter.dlq_partition}:{letter.dlq_offset}",
            f"{letter.source_topic} {letter.source_partition}:{letter.source_offset}",
            letter.reason,
            letter.excerpt(),
        )
    Console(width=max(Console().width, 160)).print(table)
