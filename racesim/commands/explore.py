"""`racesim explore`, `replay`, `shrink`: systematic exploration of schedules."""

from __future__ import annotations

commands: list = []
