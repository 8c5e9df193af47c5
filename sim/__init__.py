"""The kernel: world, clock, seeded choices, schedulers, simulated stores, trace, checkers."""
