import sys

from waitless.cli import main

sys.exit(main())
