"""Typed errors the engine raises for requests it must refuse (not kernel errno results)."""


class EngineError(Exception):
    """A request the model refuses: bad input at this point of the run."""


class Panic(EngineError):
    """The kernel would panic; the engine refuses the step and changes nothing."""

    def __init__(self, message):
        super().__init__("panic: " + message)


class LimitExceeded(EngineError):
    """A stated size limit of the model (events, processes) was reached."""
