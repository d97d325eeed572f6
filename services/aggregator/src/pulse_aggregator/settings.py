from __future__ import annotations

from pulse_shared.settings import PulseSettings


class Settings(PulseSettings):
    consumer_group: str = "pulse-aggregator"
    # A batch is what arrived while the last one was written, at most this many records
    # (the intake stops polling when it holds them). Larger batches amortise each
    # transaction's fixed cost.
    batch_max_records: int = 10000
    # How long the loop waits for records before its idle work (the roll-up refresh of a
    # paused stream, a failed cache bump retried).
    batch_timeout_ms: int = 200
    # An observed_at further than this into the future is impossible: dead-lettered.
    max_clock_skew_s: float = 300.0
    # While events flow, summaries are refreshed at most this often (and at once when the
    # stream pauses): the lag of the summaries, traded for throughput.
    summary_interval_s: float = 5.0
    # ... and take at most this share of the time: after a refresh of d seconds the next
    # waits d * (1 / share - 1) (4d at 0.2). When the stream pauses, at once.
    summary_max_share: float = 0.2
    # The stream has paused (and the refresh runs at once) when no poll brought records
    # for this long; a moment's empty poll of a steady stream is not a pause.
    summary_pause_s: float = 1.0
    # A batch is written in this many transactions at once, split by business: one
    # transaction keeps one PostgreSQL core busy while the others idle. The pool holds
    # these, the summary refresh's connection and a spare.
    write_lanes: int = 2
    db_pool_size: int = 4
    db_work_mem: str = "64MB"
    # Backoff while the database (or the DLQ producer) is failing: never skip a batch.
    retry_initial_s: float = 0.2
    retry_max_s: float = 10.0
    # How long a rebalance waits for the batch in hand before going on without it.
    rebalance_wait_s: float = 30.0
    http_port: int = 8100

    def server_settings(self) -> dict[str, str]:
        """The session settings of the writer's connections. JIT off: a batch's statements
        are planned as large (tens of thousands of rows) and PostgreSQL compiled them each
        time, 0.2 s of a 0.6 s statement, for work that runs once."""
        return {"work_mem": self.db_work_mem, "jit": "off"}
