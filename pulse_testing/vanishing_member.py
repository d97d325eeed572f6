"""A consumer-group member that joins and then vanishes without leaving (its process is
killed): the group's next join waits for it until its session times out.

``python -m pulse_testing.vanishing_member <group> <topic> <session_timeout_ms>``, with
the Kafka connection in ``PULSE_KAFKA_*``, read as a service reads it; prints ``joined``
once it holds partitions, then heartbeats until killed.
"""

from __future__ import annotations

import asyncio
import sys

from aiokafka import AIOKafkaConsumer

from pulse_shared.settings import PulseSettings


async def join_and_wait(group: str, topic: str, session_timeout_ms: int) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        **PulseSettings().kafka().options(),
        group_id=group,
        session_timeout_ms=session_timeout_ms,
        rebalance_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=1000,
    )
    await consumer.start()
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=200)
    print("joined", flush=True)
    while True:
        await consumer.getmany(timeout_ms=1000)


if __name__ == "__main__":
    asyncio.run(join_and_wait(sys.argv[1], sys.argv[2], int(sys.argv[3])))
