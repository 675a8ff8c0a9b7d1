"""The ``detente`` command line: thin wiring from arguments to the library and back.

Every command loads a scenario (a file or a built-in case name), calls one library function
and renders its result with Rich, or as JSON with ``--json``. Errors a user can fix print one
clear message per problem and exit with code 2; nothing prints a traceback unless
``DETENTE_DEBUG=1`` is set. Heavy libraries are imported inside the commands so that
``detente --help`` answers at once. Each module of this package registers its commands on the
shared :data:`app`.
"""

from __future__ import annotations

import sys

from . import backtest as backtest
from . import base_commands as base_commands
from . import export as export
from . import theory as theory
from . import uncertainty as uncertainty
from . import web as web
from . import zone as zone
from .app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:  # pragma: no cover - e.g. `detente check ... | head`
        sys.stderr.close()
