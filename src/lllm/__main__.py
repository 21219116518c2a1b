"""``python -m lllm``: the ``lllm`` command (see ``lllm_cli``)."""

import sys

from lllm_cli import main

sys.exit(main())
