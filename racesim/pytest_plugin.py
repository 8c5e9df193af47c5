"""pytest plugin: ``pytest --racesim scenarios/`` collects scenarios' expect blocks as tests."""


def pytest_addoption(parser) -> None:
    group = parser.getgroup("racesim")
    group.addoption("--racesim", action="store_true", default=False, help="Collect racesim scenario files as tests.")
