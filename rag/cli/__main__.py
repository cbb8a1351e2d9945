"""`python -m rag.cli ...`: the same as the `rag` console script."""

import sys

from rag.cli.commands import main

sys.exit(main())
