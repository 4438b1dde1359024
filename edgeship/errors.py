"""The one exception family meant for users; the CLI prints it as one line and exits with its code."""


class EdgeshipError(Exception):
    """A problem the user can fix (bad input, broken budget, failed verification)."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(EdgeshipError):
    """A config file, field or argument is not what was expected."""

    exit_code = 2


class VerificationError(EdgeshipError):
    """A saved artifact does not rank like the model it was made from."""

    exit_code = 1
