"""How resource values are read from files: the loaders lazy nodes call.

``file_value``, ``config_value`` and ``text_prompt`` are the loaders the built-in sections
declare (``SectionSpec.loaders``): each is called with the node and reads the file named by
its ``file_path`` metadata. This module imports no plugin machinery, so a process that loads
packages from the index cache stays light.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from lllm.core.resource import ResourceNode

FRONT_MATTER_FENCE = "---"
#: The loaders of a file section (``assets``, and tables no plugin claims): ``file`` reads
#: a file with ``load_file_value``.
FILE_LOADERS = {"file": "lllm.sections.loaders:file_value"}


def load_file_value(path: str | os.PathLike[str]) -> Any:
    """The value of a data file: ``.json``, ``.yaml``/``.yml`` and ``.toml`` parsed, else ``bytes``."""
    suffix = _suffix(path)
    with open(path, "rb") as f:
        data = f.read()
    if suffix == ".json":
        import json

        return json.loads(data)
    if suffix in (".yaml", ".yml"):
        return load_yaml(data, path)
    if suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:
            import tomli as tomllib

        return tomllib.loads(data.decode("utf-8"))
    return data


#: How far a YAML document may expand through aliases: beyond ``MAX_YAML_EXPANSION`` values
#: (a value weighs one more per 16 characters of text) *and* ``MAX_YAML_ALIAS_RATIO`` times
#: what is written, it is an alias bomb.
MAX_YAML_EXPANSION = 100_000
MAX_YAML_ALIAS_RATIO = 10


def load_yaml(data: str | bytes, source: object) -> Any:
    """``yaml.safe_load`` of ``data``, refusing (``ValueError`` naming ``source``) a document
    whose aliases expand it far beyond its size (a "billion laughs"), or that refers to itself,
    or that is nested too deeply to parse. Anchors and merges of ordinary size are fine."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(
        data
    )  # libyaml's parser when PyYAML has it
    try:
        try:
            node = loader.get_single_node()
        except RecursionError as exc:
            raise ValueError(f"{source}: YAML nested too deeply") from exc
        if node is None:
            return None
        _check_expansion(node, source)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expansion(root: Any, source: object) -> None:
    """Measure what ``root`` expands to (aliases counted at every use), iteratively: each
    value weighs 1, plus one per 16 characters of text, so aliases to long strings count."""
    weight: dict[int, int] = {}
    written = 0
    stack: list[tuple[Any, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            total = _own_weight(node) + sum(weight[id(child)] for child in _children(node))
            weight[key] = total
            if total > MAX_YAML_EXPANSION and total > MAX_YAML_ALIAS_RATIO * max(written, 1):
                raise ValueError(
                    f"{source}: YAML aliases expand it more than {MAX_YAML_ALIAS_RATIO} times beyond what is "
                    f"written (over {MAX_YAML_EXPANSION:,} values or 16-character pieces): refused as an alias bomb"
                )
            continue
        if key in weight:
            continue
        if key in open_nodes:
            raise ValueError(f"{source}: a YAML alias refers to a value that contains it: refused")
        written += _own_weight(node)
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in weight)


def _own_weight(node: Any) -> int:
    value = getattr(node, "value", None)
    return 1 + (len(value) // 16 if isinstance(value, str) else 0)


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _suffix(path: str | os.PathLike[str]) -> str:
    return os.path.splitext(os.fspath(path))[1].lower()


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a config file; it must hold a mapping (an empty YAML file is ``{}``).

    Raises ``ValueError`` naming the file when the content is not a mapping.
    """
    value = load_file_value(path)
    if value is None and _suffix(path) in (".yaml", ".yml"):
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"Config file {path} must contain a mapping, got {type(value).__name__}.")
    return value


def split_front_matter(text: str, file: Path | str) -> tuple[dict[str, Any], str]:
    """Split ``text`` into its YAML front matter (a mapping, ``{}`` if none) and its body.

    Front matter starts at a first line that is exactly ``---`` and ends at the next line
    that is exactly ``---``. Raises ``ValueError`` naming ``file`` when it is unterminated,
    is not valid YAML or is not a mapping.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != FRONT_MATTER_FENCE:
        return {}, text
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r\n") == FRONT_MATTER_FENCE:
            break
    else:
        raise ValueError(f"{file}: the front matter opened by '---' on line 1 is never closed.")
    import yaml

    try:
        metadata = load_yaml("".join(lines[1:index]), file)
    except yaml.YAMLError as exc:
        raise ValueError(f"{file}: invalid YAML front matter: {exc}") from exc
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise ValueError(
            f"{file}: the front matter must be a mapping, got {type(metadata).__name__}."
        )
    return metadata, "".join(lines[index + 1 :])


def load_text_prompt(path: str | os.PathLike[str], key: str) -> Any:
    """Read a ``.md``/``.txt`` prompt file (UTF-8) into a ``Prompt`` with path ``key``."""
    from lllm.core.prompt import Prompt

    with open(path, encoding="utf-8") as f:
        text = f.read().removeprefix("\ufeff")
    metadata, body = split_front_matter(text, os.fspath(path))
    return Prompt(path=key, prompt=body, metadata=metadata)


def file_value(node: ResourceNode) -> Any:
    """The declared loader of file resources: ``load_file_value`` of the node's file."""
    return load_file_value(node.metadata["file_path"])


def config_value(node: ResourceNode) -> dict[str, Any]:
    """The declared loader of configs: ``load_config`` of the node's file."""
    return load_config(node.metadata["file_path"])


def text_prompt(node: ResourceNode) -> Any:
    """The declared loader of text prompts: ``load_text_prompt`` of the node's file and key."""
    return load_text_prompt(node.metadata["file_path"], node.key)


def load_python_object(
    file: str | os.PathLike[str], package_root: str | os.PathLike[str], attribute: str
) -> Any:
    """The object bound to ``attribute`` (a dotted path) at the top of Python file ``file``.

    The file is imported once per process, as discovery does (``lllm._discovery.import_file``),
    so the object is the same one discovery would have found.
    """
    from lllm._imports import import_file

    target: Any = import_file(file, package_root)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target
