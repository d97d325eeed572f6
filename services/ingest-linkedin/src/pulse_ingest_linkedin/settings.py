from __future__ import annotations

from pulse_shared.settings import PulseSettings


class Settings(PulseSettings):
    http_port: int = 8101
