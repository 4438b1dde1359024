"""The one exception family meant for users; the CLI prints it as one line and exits with the class's code.

Input errors (a file, field or argument that is not what was expected) exit 2; a bundle, file or budget that
does not hold its promise exits 1. Library messages name the setting by its library name (`option`); the CLI
turns that into its flag, so the same error reads right from Python and from the command line.
"""

from __future__ import annotations

import contextlib


class EdgeshipError(Exception):
    """A problem the user can fix."""

    exit_code = 2

    def __init__(self, message: str, *, option: str | None = None, value: object = None):
        super().__init__(message)
        self.message, self.option, self.value = message, option, value

    def render(self, name: str | None = None) -> str:
        """The one line: `name` is how the option is called where the error is shown (a CLI flag). A message
        that mentions its option says `{option}` where the name goes; else the name leads the line."""
        name = name or self.option
        if name is None:
            return self.message
        if "{option}" in self.message:
            return self.message.replace("{option}", name)
        return f"{name} {self.value}: {self.message}" if self.value is not None else f"{name}: {self.message}"

    def __str__(self) -> str:
        return self.render()


class InputError(EdgeshipError):
    """A file, field or argument is not what was expected (exit 2)."""

    exit_code = 2


class ConfigError(InputError):
    """A config, schema or budgets file, or one of its fields, is not what was expected."""


class AlreadyExists(InputError):
    """An output would replace earlier results."""


class CheckFailed(EdgeshipError):
    """A bundle, file or budget does not hold (exit 1)."""

    exit_code = 1


class BundleError(CheckFailed):
    """A bundle on disk is not what its manifest promises: missing, changed or malformed."""


class VerificationError(CheckFailed):
    """A saved artifact does not rank like the model it was made from."""


def one_line(error: BaseException | str, limit: int = 300) -> str:
    """A third-party message as one line: the exception type, every line of the message joined (the first
    line alone often omits which op or key it was), cut at `limit` characters."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextlib.contextmanager
def reading_model(path, kind: str, error=InputError, problem: str | None = None):
    """Whatever a third-party library (ONNX, LiteRT, Core ML, Keras) raises while reading or loading a model
    file becomes one line naming the file. error: what that is to the caller (bad input, or a broken bundle; a
    class or a factory such as partial(InputError, option=...)). problem: what went wrong, in words."""
    try:
        yield
    except EdgeshipError:
        raise
    except Exception as e:
        raised = error(f"{path}: {problem or f'not a readable {kind} model'} ({one_line(e)})")
        raised.detail = one_line(e)  # the library's own words, for callers that name the file themselves
        raise raised from None
