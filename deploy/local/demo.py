"""Demo data through the whole real pipeline: ``pulse demo`` (pulse_cli.demo does the
work). Kept as a script so ``make up`` runs ``python deploy/local/demo.py --sim URL`` as
before; the post id it prints is the last line of stdout.
"""

from __future__ import annotations

import sys

from pulse_cli.app import app

if __name__ == "__main__":
    app(["demo", *sys.argv[1:]], prog_name="deploy/local/demo.py")
