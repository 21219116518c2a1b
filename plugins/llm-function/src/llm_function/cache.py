"""The workflow cache: in memory, and optionally one JSON file per key in a folder.

Key: a hash of the task text, the input schema and the output schema. Each record also
stores the fingerprints of the tools its workflow uses; a record whose tools changed (or
vanished) is stale and ignored, so editing a tool replans exactly the functions using it.

A stored file holds only the executable workflow and its provenance, is written atomically
(temporary file, then rename) with owner-only permissions, and is read as data: nothing
named inside it is imported. A corrupt or foreign file is ignored with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from llm_function import forksafe
from llm_function.tools import ToolRegistry
from llm_function.workflow import Workflow

RECORD_FORMAT = "llm_function.workflow/1"

logger = logging.getLogger("llm_function.cache")


def cache_key(task: str, input_model: type[BaseModel], output_model: type[BaseModel]) -> str:
    """The cache key of a function: task text, input schema, output schema."""
    payload = json.dumps(
        {
            "task": task,
            "input": input_model.model_json_schema(),
            "output": output_model.model_json_schema(),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class WorkflowRecord:
    """A cached workflow with the fingerprints of the tools it uses and its provenance."""

    __slots__ = ("key", "workflow", "tools", "provenance", "_current_for")

    def __init__(
        self, key: str, workflow: Workflow, tools: dict[str, str], provenance: dict[str, Any]
    ) -> None:
        self.key = key
        self.workflow = workflow
        self.tools = dict(tools)
        self.provenance = dict(provenance)
        self._current_for: tuple[ToolRegistry, int] | None = None

    @classmethod
    def for_workflow(
        cls, key: str, workflow: Workflow, registry: ToolRegistry, provenance: dict[str, Any]
    ) -> WorkflowRecord:
        """A record fingerprinting the tools ``workflow`` uses, as they are in ``registry``."""
        return cls(
            key,
            workflow,
            {name: registry.get(name).fingerprint for name in workflow.tool_names()},
            provenance,
        )

    def changed_tools(self, registry: ToolRegistry) -> list[str]:
        """The tools of the workflow that changed or are gone from ``registry``."""
        return [
            name
            for name, fp in self.tools.items()
            if name not in registry or registry.get(name).fingerprint != fp
        ]

    def is_current(self, registry: ToolRegistry) -> bool:
        """Whether every tool the workflow uses exists with the same fingerprint."""
        checked = self._current_for
        if checked is not None and checked[0] is registry and checked[1] == registry.version:
            return True
        current = all(
            name in registry and registry.get(name).fingerprint == fp
            for name, fp in self.tools.items()
        )
        if current:
            self._current_for = (registry, registry.version)
        return current

    def to_json(self) -> dict[str, Any]:
        """The record as stored."""
        return {
            "format": RECORD_FORMAT,
            "key": self.key,
            "workflow": self.workflow.to_json_dict(),
            "tools": self.tools,
            "provenance": self.provenance,
        }

    @classmethod
    def from_json(cls, data: Any) -> WorkflowRecord:
        """Parse a stored record; ``ValueError`` if it is not one."""
        if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
            raise ValueError(f"not a {RECORD_FORMAT} record")
        key, tools, provenance = data.get("key"), data.get("tools"), data.get("provenance", {})
        if (
            not isinstance(key, str)
            or not isinstance(tools, dict)
            or not isinstance(provenance, dict)
        ):
            raise ValueError("malformed record")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in tools.items()):
            raise ValueError("malformed tool fingerprints")
        try:
            workflow = Workflow.model_validate(data.get("workflow"))
        except ValidationError as exc:
            raise ValueError(f"malformed workflow: {exc}") from None
        return cls(key, workflow, tools, provenance)


def _stale(record: WorkflowRecord, registry: ToolRegistry, where: str) -> None:
    logger.info(
        "the workflow of %s %s is stale, it will be replanned: tool(s) changed or gone: %s",
        record.provenance.get("function", record.key[:16]),
        where,
        ", ".join(record.changed_tools(registry)),
    )


class WorkflowCache:
    """Workflow records by key: memory first, then the storage folder, then seeded records."""

    def __init__(self, storage_path: str | os.PathLike[str] | None = None) -> None:
        self.storage_path = None if storage_path is None else Path(storage_path)
        self._memory: dict[str, WorkflowRecord] = {}
        self._seeded: dict[str, WorkflowRecord] = {}
        self._lock = threading.Lock()
        forksafe.register(self)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()

    def _file(self, key: str) -> Path:
        assert self.storage_path is not None
        return self.storage_path / f"{key}.json"

    def get(self, key: str, registry: ToolRegistry) -> WorkflowRecord | None:
        """A current record for ``key`` (stale or corrupt ones are ignored), or ``None``."""
        record = self._memory.get(key)
        if record is not None:
            if record.is_current(registry):
                return record
            _stale(record, registry, "in memory")
            with self._lock:
                self._memory.pop(key, None)
        record = self._read(key)
        if record is not None and not record.is_current(registry):
            _stale(record, registry, "in storage")
            record = None
        if record is None:
            record = self._seeded.get(key)
            if record is not None and not record.is_current(registry):
                _stale(record, registry, "shipped")
                record = None
            if record is None:
                logger.debug("cache miss: %s", key[:16])
                return None
        with self._lock:
            self._memory[key] = record
        return record

    def peek(self, key: str) -> WorkflowRecord | None:
        """The record held in memory for ``key``, as it is (no check, no storage read)."""
        return self._memory.get(key)

    def _read(self, key: str) -> WorkflowRecord | None:
        if self.storage_path is None:
            return None
        file = self._file(key)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            warnings.warn(
                f"llm_function: cannot read cached workflow {file}: {exc}; it will be replanned.",
                RuntimeWarning,
                stacklevel=3,
            )
            return None
        try:
            record = WorkflowRecord.from_json(json.loads(text))
            if record.key != key:
                raise ValueError("its key does not match its file name")
        except (ValueError, json.JSONDecodeError) as exc:
            warnings.warn(
                f"llm_function: ignoring corrupt cached workflow {file}: {exc}; it will be replanned.",
                RuntimeWarning,
                stacklevel=3,
            )
            return None
        return record

    def put(self, record: WorkflowRecord) -> None:
        """Keep ``record`` in memory and, with a storage folder, write it atomically (mode 0600).

        Raises ``OSError`` when the file cannot be written (the record stays in memory).
        """
        with self._lock:
            self._memory[record.key] = record
        if self.storage_path is None:
            return
        self.storage_path.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps(record.to_json(), indent=2, sort_keys=True)
        fd, temporary = tempfile.mkstemp(
            prefix=f".{record.key[:16]}-", suffix=".tmp", dir=self.storage_path
        )
        try:
            os.fchmod(fd, 0o600) if hasattr(os, "fchmod") else None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self._file(record.key))
        except BaseException:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise

    def remove(self, key: str) -> None:
        """Forget ``key`` in memory and delete its file (seeded records stay)."""
        with self._lock:
            self._memory.pop(key, None)
        if self.storage_path is not None:
            try:
                self._file(key).unlink()
            except FileNotFoundError:
                pass

    def seed(self, records: Iterable[WorkflowRecord]) -> None:
        """Add records shipped with the code (an lllm package's ``workflows`` section)."""
        for record in records:
            self._seeded[record.key] = record
