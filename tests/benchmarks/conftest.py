"""Benchmarks print figures and are run by ``make bench``; pytest must not collect them."""

collect_ignore_glob = ["*.py"]
