"""Where the live stores are: ``--postgres DSN`` / ``--amqp URL``, else the environment, else
localhost; and how to name them in a message without their credentials.

PostgreSQL follows libpq: a DSN given on the command line is used as it is (libpq fills what it
leaves out from the ``PG*`` variables: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE,
PGSERVICE, ...). Without one, racesim adds only what neither the DSN nor the environment says,
with the defaults of a local test server (host 127.0.0.1, port 5432, user and database
``postgres``). RabbitMQ: ``--amqp``, else ``AMQP_URL``, else guest@127.0.0.1:5672.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from racesim.live.amqp import DEFAULT_URL as DEFAULT_AMQP_URL

__all__ = ["ConnectionSettingError", "amqp_url", "describe_amqp", "describe_postgres", "postgres_dsn", "redact"]

_LOCAL = {"host": "127.0.0.1", "port": "5432", "user": "postgres", "dbname": "postgres"}
# which PG* variables stand for each default (libpq's names; PGHOSTADDR also picks the server)
_ENV = {"host": ("PGHOST", "PGHOSTADDR"), "port": ("PGPORT",), "user": ("PGUSER",), "dbname": ("PGDATABASE", "PGUSER")}


class ConnectionSettingError(ValueError):
    """A DSN or URL that cannot be parsed; the message never repeats it (it may hold a password)."""


def postgres_dsn(option: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    given = option if option is not None else ""
    try:
        params = conninfo_to_dict(given)
    except ProgrammingError:
        raise ConnectionSettingError(
            "--postgres: not a valid libpq connection string or URI (e.g. 'host=db port=5432 user=me dbname=racesim')"
        ) from None
    if option is not None or env.get("PGSERVICE"):
        return given  # the user's choice; libpq completes it from the environment
    missing = {k: v for k, v in _LOCAL.items() if k not in params and not any(env.get(n) for n in _ENV[k])}
    return make_conninfo(given, **missing)


def amqp_url(option: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    url = option if option is not None else env.get("AMQP_URL") or DEFAULT_AMQP_URL
    where = "--amqp" if option is not None else ("AMQP_URL" if env.get("AMQP_URL") else "default")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConnectionSettingError(f"{where}: not a valid AMQP URL (e.g. amqp://user:password@host:5672/%2F)") from None
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        raise ConnectionSettingError(f"{where}: not a valid AMQP URL (e.g. amqp://user:password@host:5672/%2F)")
    return url


def describe_postgres(dsn: str, environ: Mapping[str, str] | None = None) -> str:
    """host, port, user and database, as libpq will see them; never the password."""
    env = os.environ if environ is None else environ
    params = conninfo_to_dict(dsn)

    def pick(key: str, var: str, default: str) -> str:
        return str(params.get(key) or env.get(var) or default)

    host = pick("host", "PGHOST", "local socket")
    user = pick("user", "PGUSER", "(login name)")
    return f"postgresql {host}:{pick('port', 'PGPORT', '5432')} user {user} database {pick('dbname', 'PGDATABASE', user)}"


def describe_amqp(url: str) -> str:
    parts = urlsplit(url)
    return f"amqp {parts.hostname}:{parts.port or 5672} user {unquote(parts.username or 'guest')}"


def secrets(dsn: str, url: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every spelling of a password the settings carry, longest first."""
    env = os.environ if environ is None else environ
    found: set[str] = set()
    try:
        found.add(str(conninfo_to_dict(dsn).get("password") or ""))
    except ProgrammingError:
        pass
    found.add(env.get("PGPASSWORD", ""))
    raw = urlsplit(url).password or ""
    found.update({raw, unquote(raw)})
    return sorted((s for s in found if s), key=len, reverse=True)


def redact(text: str, dsn: str, url: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` (an error message) with every password of the settings replaced by ``***``."""
    for secret in secrets(dsn, url, environ):
        text = text.replace(secret, "***")
    return text
