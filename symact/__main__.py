"""``python -m symact`` works like ``symact``."""

import sys

from .cli import main

sys.exit(main())
