"""``python -m engine`` is the ``backprop`` command line."""

import sys

from engine.cli import main

sys.exit(main())
