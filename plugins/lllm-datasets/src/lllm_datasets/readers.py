"""Reading dataset files into lists of records: the functions the lazy ``dataset`` nodes call.

Standard library only (``csv``, ``json``): no lllm plugin machinery and no pluggy, so
importing ``lllm_datasets`` or loading a dataset stays cheap.

- ``.csv``: the first row is the header; every later row is a ``dict`` of header → text
  (``csv.DictReader``). Blank lines are skipped; a short row gets ``None`` for its missing
  fields; a row with more fields than the header is an error. A header-only (or empty)
  file is ``[]``.
- ``.jsonl`` (JSON Lines): one JSON object per line; blank lines are skipped. A line that is
  not valid JSON, or holds something other than an object, is an error.

Errors are ``ValueError`` naming the file and the 1-based line number.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: A dataset's value: one ``dict`` per row or line.
Records = list[dict[str, Any]]

#: The suffix (lower case) of each supported format → the format's name.
FORMATS: dict[str, str] = {".csv": "csv", ".jsonl": "jsonl"}


def format_of(path: Path | str) -> str:
    """The format of a dataset file by its suffix (case-insensitive): ``"csv"`` or ``"jsonl"``.

    Raises ``ValueError`` for any other suffix.
    """
    suffix = Path(path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(
            f"{path}: unsupported dataset file suffix {suffix!r} (known: {known})."
        ) from None


# The key DictReader files a row's surplus fields under; no header cell can equal it.
_EXTRA: Any = object()


def read_csv(path: Path | str) -> tuple[Records, list[str]]:
    """Read a CSV file with a header row: ``(records, columns)``, columns being the header.

    The file is read as UTF-8 (a leading byte-order mark is dropped). Values stay strings.
    """
    with open(path, encoding="utf-8-sig", newline="") as stream:
        reader = csv.DictReader(stream, restkey=_EXTRA)
        records: Records = []
        try:
            columns = list(reader.fieldnames or ())
            for row in reader:
                if _EXTRA in row:
                    raise ValueError(
                        f"{path}, line {reader.line_num}: the row has {len(columns) + len(row[_EXTRA])} "
                        f"fields but the header has {len(columns)}."
                    )
                records.append(row)
        except csv.Error as exc:
            raise ValueError(f"{path}, line {reader.line_num}: invalid CSV: {exc}") from exc
    return records, columns


def read_jsonl(path: Path | str) -> tuple[Records, list[str]]:
    """Read a JSON Lines file: ``(records, columns)``, columns being every key in first-seen order.

    The file is read as UTF-8 (a leading byte-order mark is dropped); blank lines are skipped.
    """
    records: Records = []
    columns: dict[str, None] = {}
    with open(path, encoding="utf-8-sig") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"{path}, line {number}: invalid JSON: {exc.msg} (column {exc.colno})."
                ) from exc
            if not isinstance(record, dict):
                raise ValueError(
                    f"{path}, line {number}: expected a JSON object, got {_json_kind(record)}."
                )
            records.append(record)
            columns.update(dict.fromkeys(record))
    return records, list(columns)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


_READERS: dict[str, Callable[[Path | str], tuple[Records, list[str]]]] = {
    "csv": read_csv,
    "jsonl": read_jsonl,
}


def read_dataset(path: Path | str) -> tuple[Records, list[str]]:
    """Read a ``.csv`` or ``.jsonl`` file (chosen by suffix): ``(records, columns)``."""
    return _READERS[format_of(path)](path)


def load_dataset_node(node: Any) -> Records:
    """The loader the ``datasets`` section declares: called by lllm with a ``dataset`` node on
    first access of its value. Reads the node's file, records ``rows`` (the number of records)
    and ``columns`` (see ``read_csv`` and ``read_jsonl``) in the node's metadata, and returns
    the records."""
    records, columns = read_dataset(node.metadata["file_path"])
    node.metadata["rows"] = len(records)
    node.metadata["columns"] = columns
    return records
