"""query-api's one write: a refresh.requested.v1 command on Kafka.

The producer starts on the first request rather than at start-up, so the API serves
its reads while Kafka is away; a refresh asked for then is answered 503 (try again),
never accepted and lost.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from pulse_shared.events import RefreshRequested
from pulse_shared.kafka import KafkaConnection, make_producer, publish
from pulse_shared.logs import get_logger
from pulse_shared.topics import REFRESH_REQUESTED

log = get_logger(__name__)


class RefreshPublisher:
    def __init__(self, kafka: KafkaConnection, topic_prefix: str) -> None:
        self._kafka = kafka
        self._topic = f"{topic_prefix}{REFRESH_REQUESTED}"
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = make_producer(self._kafka, request_timeout_ms=5000)
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def publish(self, event: RefreshRequested) -> bool:
        """True once Kafka acknowledged the command (acks=all); False if it is unreachable."""
        try:
            producer = await self._started()
            await asyncio.wait_for(publish(producer, self._topic, event), 10)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("refresh not published", error=repr(exc))
            return False
        return True

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
