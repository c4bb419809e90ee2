"""`python -m convert`: same as the `convert` script."""
import sys

from convert.cli import main

sys.exit(main())
