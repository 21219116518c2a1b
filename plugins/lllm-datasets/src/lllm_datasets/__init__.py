"""lllm-datasets: a ``datasets`` section for lllm packages, and ``load_dataset`` to read one.

A package's ``datasets/`` folder (or the folders of its ``[datasets] paths``) holds ``.csv``
and ``.jsonl`` files; each becomes a lazy resource of type ``dataset`` whose value is a list
of records (one ``dict`` per row or line)::

    from lllm_datasets import load_dataset

    cities = load_dataset("cities")            # the default package's datasets:cities
    events = load_dataset("shop:nested/events")

The section itself lives in ``lllm_datasets.plugin`` (imported by lllm through its entry
point); importing this package does not import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lllm import Runtime

__version__ = "0.1.0"

__all__ = ["RESOURCE_TYPE", "__version__", "load_dataset"]

#: The resource type of the ``datasets`` section.
RESOURCE_TYPE = "dataset"


def load_dataset(key: str, runtime: Runtime | None = None) -> list[dict[str, Any]]:
    """The records of the dataset ``key`` resolves to, loading the file on first use.

    ``key`` is a bare path (``"cities"``: the default package's ``datasets`` section),
    ``"pkg:path"`` or a qualified key (``"pkg.datasets:path"``); ``runtime`` defaults to
    lllm's default runtime. Raises what ``Runtime.get`` raises: ``ResourceNotFoundError``,
    ``ResourceTypeError`` for a key naming another type, ``ResourceLoadError`` for a file
    that cannot be read (its message names the file and line).
    """
    if runtime is None:
        from lllm import get_default_runtime

        runtime = get_default_runtime()
    return runtime.get(key, RESOURCE_TYPE)
