"""The one exception type users see: its message is printed as a single line, never a traceback."""


class DigitsError(Exception):
    """A user-facing error (bad input, missing data, unusable model file).

    The CLI prints ``digits: error: <message>`` and exits with ``exit_code``.
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
