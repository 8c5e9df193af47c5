"""Analysis: the stage between the verdict and the report.

It turns one run's trace (and its final stores) into data: the accesses each event made,
the happens-before graph, the race window behind each duplicate, the causal chain that
explains it, the guard step that stopped it in a contrast run, and coverage figures. It
returns data only; every sentence is made by ``racesim.reports``.
"""
