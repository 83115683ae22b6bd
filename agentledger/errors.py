"""Exceptions the command line turns into a message and an exit code."""

from __future__ import annotations


class AgentledgerError(Exception):
    """A failure to report to the user without a traceback."""

    exit_code = 1


class UsageError(AgentledgerError):
    """The command was called wrongly (missing setting, bad option value)."""

    exit_code = 2


class ProjectError(AgentledgerError):
    """The sqitch project (sqitch.conf, sqitch.plan, scripts) is unusable."""


class PlanError(ProjectError):
    """sqitch.plan cannot be parsed or does not make sense."""


class ScriptError(ProjectError):
    """A deploy, revert or verify script cannot be loaded."""


class RegistryError(AgentledgerError):
    """The sqitch registry in the database is missing, newer, or inconsistent."""
