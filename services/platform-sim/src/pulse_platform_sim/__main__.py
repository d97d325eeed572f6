"""``python -m pulse_platform_sim``: serve the simulator on PULSE_SIM_HOST:PULSE_SIM_PORT."""

from __future__ import annotations

import uvicorn

from pulse_platform_sim.settings import Settings


def main() -> None:
    settings = Settings()
    # No access log: Graph API clients put access tokens in the query string.
    uvicorn.run(
        "pulse_platform_sim.app:app", host=settings.host, port=settings.port, access_log=False
    )


if __name__ == "__main__":
    main()
