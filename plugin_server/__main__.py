import sys

from .cli import server_main

sys.exit(server_main())
