"""Write package trees for tests from a dict of relative paths to file contents."""

from lllm.testing import write_files as write_tree

__all__ = ["write_tree"]
