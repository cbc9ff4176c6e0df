"""Errors briefer raises, each with a message that tells the user what to do.

BriefError                 base; the CLI prints its message on one line
├── UsageError             bad input or usage: exit code 2
│   ├── SourceError        a source cannot be read (missing, empty, binary)
│   ├── TemplateError      a template file is missing or malformed
│   └── ConfigError        the config file is malformed
└── RunError               the run itself failed: exit code 1
    └── ModelError         the model server failed or answered unusably
        └── RefusalError   the model refused to answer
"""

from __future__ import annotations


class BriefError(Exception):
    """Base for every error briefer reports to the user."""

    exit_code = 1


class UsageError(BriefError):
    """The user's input or options are wrong; fixing them fixes the run."""

    exit_code = 2


class SourceError(UsageError):
    """A source path cannot be read as text."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class TemplateError(UsageError):
    """A briefing template is missing or does not validate."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"template {where}: {problem}")
        self.where = where
        self.problem = problem


class RunError(BriefError):
    """The run could not produce a brief (engine failure, unwritable output)."""


class ConfigError(UsageError):
    """The config file cannot be read or has a bad field."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"config {where}: {problem}")
        self.where = where
        self.problem = problem


class ModelError(RunError):
    """The model server failed, or its answers stayed unusable after the allowed retries."""


class RefusalError(ModelError):
    """The model refused the request; `refusal` is what it said."""

    def __init__(self, refusal: str) -> None:
        super().__init__(f"the model refused: {refusal}")
        self.refusal = refusal
