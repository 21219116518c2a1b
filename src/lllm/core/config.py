"""Compatibility module for packages written for the LLLM framework: config helpers."""

from lllm._configs import deep_merge, resolve_config, vendor_config
from lllm.core.lookups import load_config

__all__ = ["deep_merge", "load_config", "resolve_config", "vendor_config"]
