#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and RabbitMQ (127.0.0.1:5672) are up for the live and
# differential tests. Idempotent: a running service is left alone; never fails the caller
# (the tests skip with a reason when a service stays unreachable).
set -u

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # port, name: up to ~30 s
    for _ in $(seq 1 60); do
        if up "$1"; then echo "services.sh: $2 is up"; return 0; fi
        sleep 0.5
    done
    echo "services.sh: $2 still unreachable on 127.0.0.1:$1" >&2
    return 0
}

if ! up 5432; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        for version in $(ls /etc/postgresql); do
            pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>&1 || true
        done
    else
        echo "services.sh: PostgreSQL is down and pg_ctlcluster is not available" >&2
    fi
fi
wait_for 5432 PostgreSQL

if ! up 5672; then
    if command -v rabbitmq-server >/dev/null 2>&1; then
        rabbitmq-server -detached 2>&1 || true
    else
        echo "services.sh: RabbitMQ is down and rabbitmq-server is not available" >&2
    fi
fi
wait_for 5672 RabbitMQ
exit 0
