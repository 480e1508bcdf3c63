"""The command set shared by the shell and the CLI.

Each command is defined once, as a click command; the CLI exposes them as
``realnet <command>`` and the shell runs the very same commands for each line, so
flags, help and output are identical in both. (click rather than typer: typer 0.26+
vendors its own click and 0.29 imports pydantic on every parse, which alone costs
more than the whole start-up budget of ``realnet ls``.)
"""

from __future__ import annotations

from functools import cache

import click


def build_group() -> click.Group:
    from realnet.commands import access, admin, content, edit, kubernetes, navigate, runners, sqs

    group = click.Group(
        "realnet",
        help="Realnet: a typed tree of resources.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    for module in (navigate, edit, content, admin, access, runners, sqs, kubernetes):
        module.register(group)
    return group


@cache
def command_group() -> click.Group:
    """The shared commands as one click group (built once per process)."""
    return build_group()
