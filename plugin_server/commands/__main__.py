"""``python -m argo_artifact_driver.plugin_server.commands``: the ``argo-artifacts`` tools."""

import sys

from . import main

sys.exit(main())
