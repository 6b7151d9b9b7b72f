"""The root of every error WaitLess raises on purpose.

Each package derives its own errors from :class:`WaitlessError`; the API maps them to HTTP
answers in one place (:mod:`waitless.api.errors`) and the command line to exit status 2, so
anything that is not a ``WaitlessError`` is a bug and is answered (and logged) as one.
"""

from __future__ import annotations


class WaitlessError(Exception):
    """Something WaitLess expected could go wrong: bad input, bad data, a missing service."""
