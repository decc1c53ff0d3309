"""Errors a person can act on.

Every problem with the *input* (a broken video, a bad catalog, a malformed CSV) raises
``InputError`` with one line saying what is wrong and where. The CLI prints that line and exits
non-zero; the web worker stores it as the job's message. Anything else is a bug.
"""


class InputError(Exception):
    """Bad input: ``str(err)`` is one line naming the file (and row/field) and the problem."""

    def __init__(self, message: str, *, path: str | None = None):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class CancelledError(Exception):
    """Raised from a progress callback to stop the pipeline cleanly."""
