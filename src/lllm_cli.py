"""Entry point of the ``lllm`` command.

It lives outside the ``lllm`` package so it can switch off auto-init before ``lllm`` is
imported: every command loads exactly what it needs (and a broken project in the current
folder cannot break ``lllm pkg``).
"""

import os


def main() -> int:
    """Run ``lllm._cli.main`` with auto-init off unless ``LLLM_AUTO_INIT`` says otherwise."""
    os.environ.setdefault("LLLM_AUTO_INIT", "0")
    from lllm._cli import main as run

    return run()
