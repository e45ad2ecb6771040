"""The ``policy-hub`` command: a Flask CLI group with the app factory. Thin: parse, call a service, commit.

Contract (scripted by other tools): ``--json`` prints one JSON document on stdout, also on failure (then with
``errors``); exit 0 success, 1 input rejected, 2 usage error, 3 internal error.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

import click
from flask.cli import FlaskGroup, with_appcontext

from policy_hub.app import create_app
from policy_hub.config import ConfigError
from policy_hub.extensions import db
from policy_hub.services import InputRejected, ServiceError

logger = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
# Record ids as the database holds them (INTEGER); a larger number is a usage error, not a database overflow.
RECORD_ID = click.IntRange(1, 2**31 - 1)


def today_shanghai() -> date:
    return datetime.now(SHANGHAI).date()


def _emit(as_json: bool, payload: dict, text: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False, default=str))
    elif text is not None:
        click.echo(text)


def command(fn):
    """Run in the app context, commit once on success, roll back and map errors to exit codes otherwise."""

    @functools.wraps(fn)
    @with_appcontext
    def wrapper(*args, **kwargs):
        as_json = kwargs.get("as_json", False)
        try:
            code = fn(*args, **kwargs) or EXIT_OK
            if code == EXIT_OK:
                db.session.commit()
            else:
                db.session.rollback()
            sys.exit(code)
        except click.ClickException:
            db.session.rollback()
            raise  # usage errors keep click's exit code 2 (see main)
        except (InputRejected, ServiceError) as exc:
            db.session.rollback()
            _emit(as_json, {"errors": _errors(exc)})
            if not as_json:
                click.echo(f"错误：{exc.message}", err=True)
                for e in exc.errors[:50] if isinstance(exc.errors, list) else []:
                    click.echo(f"  {_issue_text(e)}", err=True)
            sys.exit(EXIT_REJECTED)
        except Exception as exc:  # noqa: BLE001 - the contract maps every other failure to exit 3
            db.session.rollback()
            from disbursement import DisbursementError
            from importers import ImportFileError

            if isinstance(exc, (ImportFileError, DisbursementError)):  # the input was refused, with a message
                _emit(as_json, {"errors": [{"message": str(exc)}]})
                if not as_json:
                    click.echo(f"错误：{exc}", err=True)
                sys.exit(EXIT_REJECTED)
            logger.exception("command failed")
            if not as_json:
                click.echo(f"内部错误：{type(exc).__name__}: {exc}", err=True)
            _emit(as_json, {"errors": [{"message": f"internal error: {type(exc).__name__}: {exc}"}]})
            sys.exit(EXIT_INTERNAL)

    return wrapper


def _errors(exc: ServiceError) -> list:
    details = exc.errors if isinstance(exc.errors, list) else [exc.errors]
    return details or [{"message": exc.message}]


def _issue_text(e: dict) -> str:
    if not isinstance(e, dict):
        return str(e)
    where = " ".join(str(x) for x in (e.get("sheet"), f"第{e.get('row')}行" if e.get("row") else None,
                                      e.get("column")) if x)
    value = f"（值：{e['value']}）" if e.get("value") not in (None, "") else ""
    return f"{where}：{e.get('message')}{value}"


def as_of_option(fn):
    return click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
                        help="评估日期 YYYY-MM-DD，默认上海时区今天")(fn)


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 文档")(fn)


def _as_of(value) -> date:
    return value.date() if value else today_shanghai()


cli = FlaskGroup(create_app=create_app, add_version_option=False, load_dotenv=False,
                 help="Policy Hub 惠企政策平台命令行")


def main() -> None:
    """Entry point: keeps the exit-code contract for usage errors too (exit 2, JSON with --json)."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(EXIT_USAGE)
    except click.UsageError as exc:
        if "--json" in sys.argv:
            click.echo(json.dumps({"errors": [{"message": exc.format_message()}]}, ensure_ascii=False))
        else:
            exc.show()
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except ConfigError as exc:  # raised while the app is built, before any command runs
        _fail_early(f"configuration error: {exc}", EXIT_USAGE)
    except Exception as exc:  # noqa: BLE001 - the contract maps every other failure to exit 3
        logger.exception("command failed before it started")
        _fail_early(f"internal error: {type(exc).__name__}: {exc}", EXIT_INTERNAL)


def _fail_early(message: str, code: int) -> None:
    if "--json" in sys.argv:
        click.echo(json.dumps({"errors": [{"message": message}]}, ensure_ascii=False))
    else:
        click.echo(message, err=True)
    sys.exit(code)


from policy_hub import cli_commands, cli_finance, cli_items, cli_lifecycle  # noqa: E402,F401  (register the commands on ``cli``)
