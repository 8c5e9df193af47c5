import socket

import pytest
from racesim.engine.runner import config_for
from racesim.models.guards import Guards
from racesim.scenarios.loader import load


@pytest.fixture(scope="session")
def fanin():
    return load("with-items-fanin")


@pytest.fixture
def config(fanin):
    def make(guards: str = "none", **kw):
        return config_for(fanin, Guards.parse(guards), **kw)

    return make


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def rabbitmq() -> None:
    """Skips the test unless RabbitMQ answers on 127.0.0.1:5672."""
    if not _reachable(5672):
        pytest.skip("RabbitMQ unreachable at 127.0.0.1:5672 (run .ci/services.sh)")


@pytest.fixture(scope="session")
def services(rabbitmq) -> None:
    """Skips the test unless PostgreSQL and RabbitMQ both answer."""
    if not _reachable(5432):
        pytest.skip("PostgreSQL unreachable at 127.0.0.1:5432 (run .ci/services.sh)")
