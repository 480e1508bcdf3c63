"""``realnet``: the command line. Wires settings → context → the shared commands.

Every RealnetError ends here as one line on stderr and exit code 1 (2 for usage);
tracebacks are for bugs only.
"""

from __future__ import annotations

import os
import sys

import click

from realnet import __version__
from realnet.commands import build_group
from realnet.commands.session import Session
from realnet.core.errors import RealnetError

EXIT_USAGE = 2


def _remote(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        session = ctx.find_root().obj
        if param.name == "url":
            session.connect(value, None)
        else:
            session.connect(None, value)
    return value


url_option = click.option("--url", metavar="URL", expose_value=False, callback=_remote, is_eager=True,
                          help="Work against a remote Realnet's HTTP API (default REALNET_URL).")
token_option = click.option("--token", metavar="TOKEN", expose_value=False, callback=_remote,
                            is_eager=True, help="API token for --url (default REALNET_TOKEN; prefer "
                            "the variable: a command line is visible to other users).")


def build_cli() -> click.Group:
    group = build_group()

    @group.command("shell")
    @click.option("-c", "--command", help="Run these commands (separated by ';') and exit.")
    @click.option("--keep-going", is_flag=True, help="In scripts, go on after a failing command.")
    @click.option("--as", "acting_as", metavar="ACCOUNT", help="Act as this account, with its permissions.")
    @url_option
    @token_option
    @click.pass_context
    def shell(ctx, command, keep_going, acting_as):
        """Open the interactive shell (or run a script from stdin or -c)."""
        from realnet.shell import run_shell

        session = ctx.find_root().obj
        if acting_as is not None:
            if not acting_as.strip():
                raise click.BadParameter("expected an account name", param_hint="--as")
            session.acting_as = acting_as
        ctx.exit(run_shell(session, command=command, keep_going=keep_going))

    @group.command("tui")
    @click.argument("path", required=False)
    @click.option("--read-only", is_flag=True, help="Look, never change: every write key is off.")
    @click.option("--as", "acting_as", metavar="ACCOUNT", help="Act as this account, with its permissions.")
    @click.pass_context
    def tui(ctx, path, read_only, acting_as):
        """Open the dashboard (at PATH, if given): the tree, the children of a folder, an
        item's detail, forms and the runners (a terminal UI; 'q' quits)."""
        from realnet.tui import run_tui

        session = ctx.find_root().obj
        if acting_as is not None:
            if not acting_as.strip():
                raise click.BadParameter("expected an account name", param_hint="--as")
            session.acting_as = acting_as
        start = session.resolve(path) if path is not None else None
        ctx.exit(run_tui(session, read_only=read_only, start=start))

    @group.command("server")
    @click.option("--host", help="Address to listen on (default REALNET_SERVER_HOST or 127.0.0.1).")
    @click.option("--port", type=click.IntRange(0, 65535), help="Port (default REALNET_SERVER_PORT or 8080).")
    @click.option("--deadline", type=click.FloatRange(0, 600), default=10.0, show_default=True,
                  help="Seconds in-flight requests get to finish after SIGTERM.")
    @click.option("--sqs", metavar="QUEUE_URL",
                  help="Also run the SQS runner on this queue (default REALNET_SQS_QUEUE_URL, if set).")
    @click.pass_context
    def server(ctx, host, port, deadline, sqs):
        """Run the HTTP API (and the SQS runner) in the foreground until SIGTERM or Ctrl-C
        (for containers)."""
        from realnet.runners.foreground import run_server

        session = ctx.find_root().obj
        ctx.exit(run_server(session.settings, host=host, port=port, log=session.stderr,
                            deadline=deadline, sqs=sqs))

    def act_as(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is not None:
            if not value.strip():
                raise click.BadParameter("expected an account name", param_hint="--as")
            ctx.find_root().obj.acting_as = value
        return value

    click.option("--as", "acting_as", metavar="ACCOUNT", expose_value=False, callback=act_as,
                 is_eager=True, help="Act as this account, with its permissions.")(group)
    url_option(group)
    token_option(group)
    click.version_option(__version__, "--version", message="realnet %(version)s")(group)
    return group


def usage_line(error: click.UsageError, prefix: str) -> str:
    """One line for a usage mistake, with where to read more."""
    path = error.ctx.command_path if error.ctx is not None else prefix
    message = error.format_message().replace("\n", " ")
    return f"{path}: {message} (see '{path} --help')"


def run(args: list[str] | None = None, session: Session | None = None) -> int:
    """Run one command line; returns the exit code."""
    from realnet.config import load_settings

    session = session or Session(interactive=sys.stdin.isatty() and sys.stdout.isatty())
    try:
        if session.settings is None:
            session.settings = load_settings()
        status = build_cli().main(args=args, prog_name="realnet", standalone_mode=False,
                                  obj=session)
        return status if isinstance(status, int) else 0
    except RealnetError as e:
        session.stderr.write(f"realnet: {e}\n")
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.UsageError as e:
        session.stderr.write(usage_line(e, "realnet") + "\n")
        return EXIT_USAGE
    except click.ClickException as e:
        session.stderr.write(f"realnet: {e.format_message()}\n")
        return 1
    except click.exceptions.Abort as e:
        if isinstance(e.__cause__, KeyboardInterrupt):  # click's wrapping of Ctrl-C
            session.stderr.write("realnet: interrupted\n")
            return 130
        session.stderr.write("realnet: aborted\n")  # a question answered no
        return 1
    except KeyboardInterrupt:
        session.stderr.write("realnet: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (``realnet ls | head``): not an error, and nothing more to say.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        session.close()


class ClosedOutput:
    """Standard output when the process was started with it closed (``>&-``, some
    daemons): Python gives None. Writing to it is a one-line error, as for coreutils."""

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        raise RealnetError("standard output is closed: nothing can be printed")

    def flush(self) -> None:
        pass


def main() -> None:
    if sys.stdin is None:  # started with standard input closed: reading it finds nothing
        sys.stdin = open(os.devnull)  # noqa: SIM115 - for the life of the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    if sys.stdout is None:
        sys.stdout = ClosedOutput()  # type: ignore[assignment]
    sys.exit(run(sys.argv[1:]))
