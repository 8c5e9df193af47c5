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
