"""``python -m limelight`` is the ``limelight`` command."""

import sys

from limelight._cli import main

sys.exit(main())
