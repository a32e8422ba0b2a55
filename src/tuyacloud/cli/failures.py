"""How the command line fails: one line saying what went wrong, at most one line of hint, a non-zero exit status,
and never a traceback for a mistake the user can fix (a port in use, a bad option, a database that cannot be
reached or read).

Under ``--json`` the same failure is one JSON object on stdout, shaped like the Tuya envelope the OpenAPI answers
with, so a script reads successes and failures the same way::

    {"success": false, "code": "port_in_use", "msg": "port 8000 on 127.0.0.1 is already in use", "hint": "..."}

``code`` is the Tuya error code (an integer, e.g. 1005) for refusals of the domain, the same code the OpenAPI
would answer, with the same exact ``msg`` and the same ``detail``; it is a lowercase word for failures that have
no Tuya code (start-up, options, the store).

Every command is run through :class:`CliGroup`, the root command's class, so a failure raised anywhere below it
(as :class:`CliFailure`, a domain ``TuyaError`` or a click usage error) is reported here and nowhere else.
"""

# No `from __future__ import annotations`: Typer reads check_database_url's annotations for every command that
# takes --database-url, and compiles string annotations again each time (see cli/main.py).

import errno
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x carries its own copy of click; earlier releases use click itself
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException, NoArgsIsHelpError  # type: ignore[assignment,no-redef]

from tuyacloud.errors import TuyaError, code_message_detail

EXIT_FAILURE = 1  # the command ran and failed (a domain refusal, a store or a port problem)
EXIT_USAGE = 2  # the command line itself is wrong (click's convention)


class CliFailure(Exception):
    """A failure to report as one line plus an optional hint."""

    def __init__(self, code: str | int, msg: str, hint: str = "", exit_code: int = EXIT_FAILURE,
                 detail: str | None = None) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = _one_line(msg)
        self.detail = _one_line(detail) if detail else ""
        self.hint = _one_line(hint)
        self.exit_code = exit_code

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"success": False, "code": self.code, "msg": self.msg}
        if self.detail:
            body["detail"] = self.detail
        if self.hint:
            body["hint"] = self.hint
        return body

    def text(self) -> str:
        code = f" {self.code}" if isinstance(self.code, int) else ""
        text = f"{self.msg}: {self.detail}" if self.detail else self.msg
        lines = f"error{code}: {text}\n"
        return lines + (f"hint: {self.hint}\n" if self.hint else "")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def from_tuya_error(error: TuyaError) -> CliFailure:
    code, msg, detail = code_message_detail(error)
    return CliFailure(code, msg, detail=detail)


def from_usage_error(error: ClickException) -> CliFailure:
    """Click's usage errors (an unknown option, a value out of range; the message names the option and its
    environment variable) as one line."""
    ctx = getattr(error, "ctx", None)
    hint = f"see '{ctx.command_path} --help'" if ctx is not None else ""
    return CliFailure("bad_usage", error.format_message(), hint, exit_code=error.exit_code or EXIT_USAGE)


# --- the data directory, the listening ports, the store -----------------------------------------------------
def check_data_dir(path: Path) -> None:
    """Create the data directory and prove it writable, before anything is started or printed."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise CliFailure("data_dir_unwritable", f"the data directory {path} cannot be written: {_reason(error)}",
                         "choose another one with --data-dir (or TUYACLOUD_DATA_DIR), or fix its permissions"
                         ) from None


def listen_failure(error: OSError, host: str, port: int, option: str = "--port (or --message-port)") -> CliFailure:
    """``option``: what chose the port, named in the hint (``--mqtt-port`` for the broker's)."""
    if error.errno == errno.EADDRINUSE:
        return CliFailure("port_in_use", f"port {port} on {host} is already in use",
                          f"stop what listens there (another tuyacloud?) or choose another port with {option}")
    if error.errno == errno.EACCES:
        return CliFailure("port_forbidden", f"no permission to listen on port {port} on {host}",
                          "ports below 1024 need privileges: choose a port from 1024 up with --port")
    if error.errno == errno.EADDRNOTAVAIL:
        return CliFailure("host_unavailable", f"{host} is not an address of this machine",
                          "use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)")
    return CliFailure("listen_failed", f"cannot listen on {host}:{port}: {_reason(error)}",
                      "check --host and --port")


SQLITE_CORRUPT = ("file is not a database", "database disk image is malformed", "file is encrypted")


def store_failure(error: BaseException, database_url: str) -> CliFailure | None:
    """What a failure to open (and migrate) the store means to the user; None for an unexpected error, which
    then propagates with its traceback because it is a bug to report."""
    import sqlite3  # here, not at the top: the root command (``--version``, ``--help``) never opens a store

    where = _describe(database_url)
    chain = _chain(error)
    cause = chain[-1]
    text = str(cause)
    newer = next((e for e in chain if type(e).__name__ == "CommandError" and "revision" in str(e)), None)
    if newer is not None:  # alembic: the database's schema has a revision this code does not know
        return CliFailure("database_too_new", f"{where} was written by a newer tuyacloud ({newer})",
                          "upgrade tuyacloud, or use another --data-dir / --database-url")
    if database_url.startswith("sqlite"):
        if isinstance(cause, sqlite3.DatabaseError) and any(s in text for s in SQLITE_CORRUPT):
            return CliFailure("data_dir_corrupt", f"{where} is not a readable tuyacloud database ({text})",
                              "move the file away (or restore a backup) and start again, or use another --data-dir")
        if isinstance(cause, (sqlite3.OperationalError, OSError)):
            return CliFailure("data_dir_unwritable", f"{where} cannot be opened for writing: {_reason(cause)}",
                              "choose another --data-dir (or TUYACLOUD_DATA_DIR), or fix its permissions")
    else:
        if isinstance(cause, (OSError, TimeoutError)) or _refused_by_postgres(cause):
            return CliFailure("database_unreachable", f"cannot connect to {where}: {_reason(cause)}",
                              "is the server running and is the URL right? "
                              "postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
        if "?" in database_url and getattr(cause, "sqlstate", None) in PG_BAD_SETTINGS:
            return CliFailure("database_url_invalid", f"{where} refused a parameter of the URL: {text}",
                              "the URL's parameters are libpq's (sslmode, sslrootcert, ...) or server settings "
                              "(application_name, ...)", exit_code=EXIT_USAGE)
        if isinstance(cause, ValueError) or type(cause).__name__ == "ClientConfigurationError":
            return CliFailure("database_url_invalid", f"the database URL {_redact(database_url)} is malformed: {text}",
                              "use postgresql://USER:PASSWORD@HOST:PORT/DATABASE", exit_code=EXIT_USAGE)
    return None


def _chain(error: BaseException) -> list[BaseException]:
    """The error and what caused it, down to the driver's own exception under SQLAlchemy's wrappers."""
    chain = [error]
    while len(chain) < 20:
        inner = getattr(chain[-1], "orig", None) or chain[-1].__cause__
        if inner is None or inner in chain:
            break
        chain.append(inner)
    return chain


# SQLSTATE classes of a server that refuses the connection: connection exception, authorization, no such
# database, too many connections, starting up or shutting down.
PG_REFUSALS = ("08", "28", "3D", "53300", "57P03")


# SQLSTATEs of a server setting the server refuses at connection: no such parameter, a value it does not take.
PG_BAD_SETTINGS = ("42704", "22023")


def _refused_by_postgres(error: BaseException) -> bool:
    state = getattr(error, "sqlstate", None)
    return type(error).__module__.startswith("asyncpg") and isinstance(state, str) and state.startswith(PG_REFUSALS)


def _reason(error: BaseException) -> str:
    """"connection refused" rather than "[Errno 111] Connect call failed ('127.0.0.1', 1)"."""
    text = str(error) or type(error).__name__
    if isinstance(error, OSError):
        text = os.strerror(error.errno) if error.errno and error.errno > 0 else (error.strerror or text)
    return text[0].lower() + text[1:]


def _describe(database_url: str) -> str:
    if database_url.startswith("sqlite:///"):
        return f"the SQLite file {database_url.split('sqlite:///', 1)[1]}"
    return f"the database {_redact(database_url)}"


def _redact(database_url: str) -> str:
    """The URL without its password: messages may end up in logs."""
    scheme, sep, rest = database_url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return database_url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


SUPPORTED_SCHEMES = ("sqlite:///", "postgresql://", "postgres://", "postgresql+asyncpg://")


def check_database_url(database_url: str | None) -> str | None:
    """An option callback: refuse a URL of a database tuyacloud does not speak before anything starts."""
    if database_url and not database_url.startswith(SUPPORTED_SCHEMES):
        scheme = database_url.partition("://")[0] or database_url
        raise typer.BadParameter(f"unsupported database {scheme!r}: tuyacloud stores its data in SQLite (the "
                                 "default, in the data directory) or PostgreSQL (postgresql://USER@HOST/DB)")
    if not database_url:
        return database_url
    # Here, not at the top: the store's module is not loaded by the commands that never open a store.
    from tuyacloud.store.engine import unsupported_message, unsupported_parameters

    unsupported = unsupported_parameters(database_url)
    if unsupported:
        raise typer.BadParameter(unsupported_message(unsupported))
    return database_url


# --- reporting ------------------------------------------------------------------------------------------------
def report(failure: CliFailure, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(failure.envelope(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        sys.stderr.write(failure.text())
        sys.stderr.flush()


class CliGroup(TyperGroup):
    """The root command: runs every subcommand and reports its failures (see the module docstring)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as shown:  # `tuyacloud device`: the group's help, as click does
            if not standalone_mode:
                raise
            shown.show()
            sys.exit(shown.exit_code)
        except typer.Abort:
            failure = CliFailure("aborted", "aborted")
        except ClickException as error:
            failure = from_usage_error(error)
        except TuyaError as error:
            failure = from_tuya_error(error)
        except CliFailure as error:
            failure = error
        else:
            if not standalone_mode:
                return result
            sys.exit(result if isinstance(result, int) else 0)
        if not standalone_mode:
            raise failure
        report(failure, "--json" in argv)
        sys.exit(failure.exit_code)
