"""The ``bench`` command: a click group with one module per command (asv style).

Every command raises ``harness.errors.BenchError`` for problems the user can fix; the group turns it into
one line on stderr (``error: ...``) and the error's exit code, never a traceback. click's own usage errors
(bad choice, bad number, unknown option, missing argument) get the same one-line form, exit 2.
"""

from __future__ import annotations

from typing import NoReturn

import click

from harness import __version__
from harness.errors import BenchError


class BenchGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as err:
            _usage_error(err)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BenchError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(err.exit_code)
        except click.UsageError as err:  # a command's own options and arguments are parsed in here
            _usage_error(err)


def _usage_error(err: click.UsageError) -> NoReturn:
    """click's usage errors (an option click validates itself, a missing argument, an unknown command) in
    the same form as every other bad input: one line, ``error: ...``, exit 2, instead of click's usage
    text, hint line and ``Error:`` line."""
    if isinstance(err, click.exceptions.NoArgsIsHelpError):
        raise err  # `bench` alone: the help text is the answer
    message = " ".join(err.format_message().split()).rstrip(".")
    hint = f"; see '{err.ctx.command_path} --help'" if err.ctx is not None else ""
    click.echo(f"error: {message[:1].lower()}{message[1:]}{hint}", err=True)
    raise click.exceptions.Exit(err.exit_code)


@click.group(cls=BenchGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="bench")
def cli() -> None:
    """rnn-bench: train the same recurrent IMDB classifier with Keras (TensorFlow) and PyTorch on identical
    data, batches and initial weights, and compare them.

    Exit codes: 0 success; 1 regression found (bench check) or a parity check failed (bench parity); 2 bad
    input or results that cannot be compared.
    """


def _register() -> None:
    # Imported here so that each command stays in its own module; none of them imports a framework.
    from . import commands

    for command in commands.ALL:
        cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="bench")
