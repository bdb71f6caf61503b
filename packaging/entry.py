"""Entry point of the frozen (PyInstaller) ConvStudio: the same command line as `convstudio`."""

import sys

from convstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
