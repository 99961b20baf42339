"""The one exception type users see: a message naming what is wrong and what to do."""

from __future__ import annotations


class FedloraError(Exception):
    """An error a person can act on.

    ``str(error)`` is a single line: what went wrong, then (after " -- ") what to do about it.
    The CLI prints exactly that line and exits non-zero; it never shows a traceback for these.
    """

    def __init__(self, what: str, hint: str = "") -> None:
        self.what = what
        self.hint = hint
        super().__init__(f"{what} -- {hint}" if hint else what)
