"""The test suite: ``unit/`` (in-process, fsspec's memory filesystem, seconds),
``integration/`` (the plugin as a process against real storage servers) and ``support/``
(what both use: our stores under test, server launchers, fault proxy, stand-ins).

This file's directory is on ``sys.path`` (pytest's prepend import mode), so test modules
import helpers as ``from support.servers import ...``.
"""
