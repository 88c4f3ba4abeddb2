"""Benchmark of the integration's load on the Enlighten cloud (run it with ``scripts/bench``).

The integration's real coordinators run inside a Home Assistant test instance
against the simulated cloud (``tests/simulator``) with simulated time; the
results are printed as one table with the targets beside them.
"""
