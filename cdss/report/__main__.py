"""`python -m cdss.report`: see cdss.report.cli."""

import sys

from cdss.report.cli import main

sys.exit(main())
