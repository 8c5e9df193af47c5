"""racesim: deterministic race simulation of attune's workflow advancement."""

__version__ = "0.1.0"
