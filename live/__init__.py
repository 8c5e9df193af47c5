"""Live mode: the same ported models executed against PostgreSQL and RabbitMQ."""
