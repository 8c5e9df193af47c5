"""`racesim validate` and `import`: scenario files in and out."""

from __future__ import annotations

commands: list = []
