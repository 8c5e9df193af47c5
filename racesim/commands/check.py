"""`racesim check`: the CI gate over scenarios' expect blocks."""

from __future__ import annotations

commands: list = []
