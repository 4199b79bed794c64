"""The ``bench`` command: a click group with one module per command (asv style).

Every command raises ``harness.errors.BenchError`` for problems the user can fix; the group turns it into
one line on stderr (``error: ...``) and the error's exit code, never a traceback.
"""

from __future__ import annotations

import click

from harness import __version__
from harness.errors import BenchError


class BenchGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BenchError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(err.exit_code)


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
