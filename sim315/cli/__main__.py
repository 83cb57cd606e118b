"""``python -m sim315.cli``."""

import sys

from . import main

sys.exit(main())
