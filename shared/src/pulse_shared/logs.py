"""Structured logging for every service: JSON lines in production, readable in a terminal."""

from __future__ import annotations

import logging
import sys

import structlog


class CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written: a command run inside a test
    runner that swaps the stream (click's CliRunner) must not leave the loggers writing
    to its stream after it is closed."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    # Libraries (aiokafka, uvicorn, sqlalchemy) log through the standard library.
    logging.basicConfig(
        level=level.upper(), stream=CurrentStderr(), format="%(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # httpx logs every request's URL at INFO, and some platforms' documented calls carry
    # secrets in the query (Meta's token exchange: the app secret, the code, the token).
    logging.getLogger("httpx").setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]
