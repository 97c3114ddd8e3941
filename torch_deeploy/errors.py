"""Errors a user can act on.

Every error raised for bad input derives from :class:`DeeployError`; the CLI prints its message on one
line and exits with status 2. Anything else escaping is a bug in torch-deeploy and keeps its traceback.
"""

from __future__ import annotations


class DeeployError(Exception):
    """A problem with the user's input or request, explained in the message."""

    exit_code = 2


class OpError(DeeployError):
    """A node cannot be handled: names the node, its op and what is wrong."""

    def __init__(self, message: str, *, node: str | None = None, op: str | None = None):
        self.node = node
        self.op = op
        self.reason = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.node is not None or self.op is not None:
            where = f"node '{self.node}' ({self.op}): " if self.node else f"{self.op}: "
        return where + self.reason

    def located(self, node: str, op: str) -> OpError:
        """The same error with the node and op filled in (ops raise it without knowing them)."""
        if self.node is not None:
            return self
        return OpError(self.reason, node=node, op=op)


class FrontendError(DeeployError):
    """The model file itself cannot be read (not ONNX, broken graph, ...)."""


class CompileError(DeeployError):
    """Compilation of a valid graph failed for a reason the user can change (memory budget, options)."""


class RunError(DeeployError):
    """Running a deployed program failed (bad inputs, build or runtime failure)."""
