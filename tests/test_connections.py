"""--postgres / --amqp: the options, then the environment (libpq's PG* variables, AMQP_URL),
then localhost; and no password in any message."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from psycopg.conninfo import conninfo_to_dict
from racesim.live import connections as c

from racesim.cli import cli


def test_nothing_set_means_the_local_test_server():
    assert conninfo_to_dict(c.postgres_dsn(None, {})) == {
        "host": "127.0.0.1",
        "port": "5432",
        "user": "postgres",
        "dbname": "postgres",
    }
    assert c.amqp_url(None, {}) == "amqp://guest:guest@127.0.0.1:5672/%2F"


def test_pg_variables_are_left_to_libpq():
    dsn = c.postgres_dsn(None, {"PGHOST": "db.example", "PGUSER": "alice", "PGPASSWORD": "pw"})
    # host and user come from the environment (libpq reads it), and the database defaults
    # to the user as libpq does; only the port is filled in
    assert conninfo_to_dict(dsn) == {"port": "5432"}
    assert c.describe_postgres(dsn, {"PGHOST": "db.example", "PGUSER": "alice"}) == (
        "postgresql db.example:5432 user alice database alice"
    )
    assert c.postgres_dsn(None, {"PGSERVICE": "racesim"}) == ""


def test_an_explicit_dsn_is_used_as_given():
    assert c.postgres_dsn("postgresql://u@h:6543/d", {}) == "postgresql://u@h:6543/d"
    with pytest.raises(c.ConnectionSettingError) as info:
        c.postgres_dsn("host=x password='s3cr3t", {})
    assert "s3cr3t" not in str(info.value)


def test_amqp_url_from_the_environment_and_checked():
    assert c.amqp_url(None, {"AMQP_URL": "amqp://a:b@mq:5673/v"}) == "amqp://a:b@mq:5673/v"
    assert c.amqp_url("amqps://mq/", {"AMQP_URL": "amqp://x@y/"}) == "amqps://mq/"
    for bad in ("http://mq/", "amqp://u:s3cr3t@mq:port/", "amqp:///"):
        with pytest.raises(c.ConnectionSettingError) as info:
            c.amqp_url(bad, {})
        assert "s3cr3t" not in str(info.value)


def test_redact_covers_every_spelling_of_a_password():
    url = "amqp://bob:p%40ss@mq/"
    text = "failed for p@ss and p%40ss and s3cr3t and env-pw"
    out = c.redact(text, "host=h password=s3cr3t", url, {"PGPASSWORD": "env-pw"})
    assert out == "failed for *** and *** and *** and ***"


def test_live_never_prints_a_password(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "envs3cr3t")
    r = CliRunner().invoke(
        cli,
        ["live", "with-items-fanin", "--runs", "1", "--postgres", "host=127.0.0.1 port=1 user=x password=s3cr3t"],
        catch_exceptions=False,
    )
    assert r.exit_code == 2
    assert "s3cr3t" not in r.output and "127.0.0.1:1" in r.stderr
    bad = CliRunner().invoke(cli, ["live", "with-items-fanin", "--amqp", "amqp://u:s3cr3t@h:port/"], catch_exceptions=False)
    assert bad.exit_code == 2 and "s3cr3t" not in bad.output and "--amqp" in bad.stderr


@pytest.mark.services
def test_live_reaches_the_stores_named_by_the_options():
    r = CliRunner().invoke(
        cli,
        ["live", "with-items-fanin", "--runs", "1", "--json", "--time-scale", "0.01",
         "--postgres", "postgresql://postgres@127.0.0.1:5432/postgres", "--amqp", "amqp://guest:guest@127.0.0.1:5672/%2F"],
        catch_exceptions=False,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    text = CliRunner().invoke(cli, ["live", "with-items-fanin", "--runs", "1", "--time-scale", "0.01"], catch_exceptions=False)
    assert text.exit_code == 0 and "live [none]" in text.stdout and "\\[" not in text.stdout
    wrong = CliRunner().invoke(
        cli, ["live", "with-items-fanin", "--runs", "1", "--amqp", "amqp://guest:s3cr3t@127.0.0.1:1/%2F"], catch_exceptions=False
    )
    assert wrong.exit_code == 2 and "s3cr3t" not in wrong.output


def test_calibrate_never_prints_a_password(tmp_path):
    r = CliRunner().invoke(
        cli,
        ["calibrate", "--out", str(tmp_path / "p.yaml"), "--postgres", "host=127.0.0.1 port=1 user=x password=s3cr3t"],
        catch_exceptions=False,
    )
    assert r.exit_code == 2 and "s3cr3t" not in r.output, r.output
    assert not (tmp_path / "p.yaml").exists()
