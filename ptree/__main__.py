"""`python -m ptree ...` is the `ptree` command."""

import sys

from ptree.webui.cli import main

sys.exit(main())
