"""`python -m convstudio` is the `convstudio` command."""

import sys

from convstudio.cli import main

sys.exit(main())
