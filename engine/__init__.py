"""The run API: configs from scenarios, single runs, sweeps (local or Dask), exploration, matrix
and expectation evaluation. Below reports, live and the CLI; imports nothing above it."""
