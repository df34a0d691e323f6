"""``python -m zoo.cli ...`` is ``drift-zoo ...``."""
import sys

from zoo.cli import main

sys.exit(main())
