"""Test-suite wide settings."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def private_index_cache(tmp_path_factory: pytest.TempPathFactory):
    """Keep lllm's discovery index cache (and that of every subprocess) out of the user's folder."""
    previous = os.environ.get("LLLM_CACHE_DIR")
    os.environ["LLLM_CACHE_DIR"] = str(tmp_path_factory.mktemp("lllm-index-cache"))
    yield
    if previous is None:
        os.environ.pop("LLLM_CACHE_DIR", None)
    else:
        os.environ["LLLM_CACHE_DIR"] = previous
