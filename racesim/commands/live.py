"""`racesim live`: the same models against PostgreSQL and RabbitMQ."""

from __future__ import annotations

commands: list = []
