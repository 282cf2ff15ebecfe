"""Error types. Every message is one line that names the field, path or container it is about."""

from __future__ import annotations


class OcirtError(Exception):
    """Any failure reported to the user as a one-line message and a non-zero exit."""

    exit_code = 1


class ConfigError(OcirtError):
    """config.json is malformed or asks for something this host cannot do.

    str() gives "config.json: <field path>: <problem>", e.g.
    "config.json: process.args: must not be empty".
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"config.json: {field}: {problem}" if field else f"config.json: {problem}")


class ContainerError(OcirtError):
    """A lifecycle operation that the container's state or existence forbids."""


class InitError(OcirtError):
    """The container's init reported a failure while setting the container up."""
