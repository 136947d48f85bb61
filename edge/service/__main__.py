"""`python -m edge.service`: the service installer on its own."""

from __future__ import annotations

import sys

from .install import main

sys.exit(main())
