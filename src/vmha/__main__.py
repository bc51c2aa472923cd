"""``python -m vmha``: the ``vmha`` command."""

import sys

from vmha.cli import main

sys.exit(main())
