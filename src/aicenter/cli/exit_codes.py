"""What the ``aicenter`` command's exit code means, decided in one place.

0: it worked. 1: the operation failed or the server refused it (any HTTP error, an unreachable
server, a conflict, an exhausted budget, a permission, a thing not on the server, an ingest
that failed). 2: the command was used wrongly, found before anything was sent (an unknown flag,
a bad value, an input file the CLI rejected, a name the catalog or the presets do not know,
figures no plan or purchase can satisfy).
"""

from __future__ import annotations

from aicenter.domain.errors import AicenterError, InfeasibleError, InputError, NotFoundError

OK = 0
FAILED = 1
USAGE = 2

HELP = (
    "Exit codes: 0 ok; 1 the operation failed or the server refused it (HTTP 4xx/5xx, "
    "unreachable server, conflict, budget, permission, not found); 2 usage error (bad flag "
    "or value, bad input file, unknown name: nothing was sent). Errors are one line on "
    "stderr."
)


def exit_code(error: AicenterError) -> int:
    """2 for the CLI's own checks of what it was given (before any request), 1 otherwise.

    An error from the server (:class:`aicenter.client.ApiError`) is never a usage error, even
    a 422: the request was well formed enough to send, and the server refused it.
    """
    from aicenter.client.http import ApiError  # lazy: offline commands never load the client

    if isinstance(error, ApiError):
        return FAILED
    if isinstance(error, InputError | NotFoundError | InfeasibleError):
        return USAGE
    return FAILED
