"""racesim: deterministic race simulation of attune's workflow advancement.

Installed, every layer is a subpackage: racesim.models, racesim.sim, racesim.scenarios,
racesim.engine, racesim.reports, racesim.live, and the CLI (racesim.cli, racesim.commands).
In the repository each layer is a top-level folder (models/, sim/, ...); run from a checkout,
the package path also covers the checkout root so the same names resolve to those folders.
"""

from pathlib import Path as _Path

__version__ = "0.1.0"

_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "sim" / "__init__.py").is_file():
    __path__.append(str(_checkout))  # noqa: F821 - a package's __path__ is defined at import
