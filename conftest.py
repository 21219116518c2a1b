"""The repository's own test sessions: independent of the developer's lllm folder.

Packages in the user's ``~/.lllm/packages`` would be loaded by ``import lllm`` and show up
in tests that expect an empty default runtime, so the session gets an empty ``LLLM_HOME``
(tests that need one of their own still set it). The index cache is already private to the
session (lllm's pytest plugin, ``lllm_pytest``).
"""

from __future__ import annotations

import pytest

from lllm_pytest import drop_session_folder, use_session_folder


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--differential-steps`` / ``--differential-seed``: the index cache's differential test
    (``tests/test_cache_differential.py``); more steps make a longer soak."""
    parser.addoption(
        "--differential-steps",
        type=int,
        default=220,
        help="changes the cache differential test makes",
    )
    parser.addoption(
        "--differential-seed", type=int, default=11, help="the seed of the cache differential test"
    )


def pytest_configure(config: pytest.Config) -> None:
    """Point ``LLLM_HOME`` at an empty folder of this session, before any test module imports lllm."""
    use_session_folder(config, "LLLM_HOME", "lllm-test-home-")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's ``LLLM_HOME``."""
    drop_session_folder(config, "LLLM_HOME")
