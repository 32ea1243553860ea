"""docs/cli.md, generated from the click commands' own help, so the
reference cannot drift from the commands: `python docs/cli_reference.py`
writes it, and tests/test_docs.py fails when it is out of date."""

from __future__ import annotations

import sys
from pathlib import Path

import click

HERE = Path(__file__).parent
WIDTH = 88  # columns of the help text, whatever the terminal


def help_text(command: click.Command, name: str, parent: click.Context | None = None) -> str:
    context = click.Context(
        command, info_name=name, parent=parent, terminal_width=WIDTH, max_content_width=WIDTH
    )
    return command.get_help(context)


def render() -> str:
    from ingest.cli import cli

    root = click.Context(cli, info_name="cattags", terminal_width=WIDTH, max_content_width=WIDTH)
    parts = [
        "# `cattags`: every command and option",
        "",
        "Generated from the commands' own help by `python docs/cli_reference.py`;",
        "a test fails when this page is out of date. What each command is for, with",
        "examples: [commands.md](commands.md).",
        "",
        "```",
        help_text(cli, "cattags"),
        "```",
    ]
    for name in sorted(cli.commands):
        parts += [
            "",
            f"## cattags {name}",
            "",
            "```",
            help_text(cli.commands[name], name, root),
            "```",
        ]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    target = HERE / "cli.md"
    target.write_text(render())
    print(f"wrote {target}", file=sys.stderr)
