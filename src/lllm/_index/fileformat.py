"""The on-disk format of index files: a magic line, a CRC-32 and ``marshal`` data.

No parser to import, and the checksum makes a truncated or damaged file one that
``read_record`` rejects before decoding it. Files are written atomically and privately.
"""

from __future__ import annotations

import marshal
import os
import zlib
from typing import Any

_MAGIC = b"lllm-index\n"


def is_private(path: str) -> bool:
    """Whether ``path`` belongs to this user and no one else may write it (POSIX).

    A cache another user could have written is never used: it could name folders to import.
    """
    if not hasattr(os, "getuid"):
        return True
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def write_private(
    file: str | os.PathLike[str], data: bytes, *, temporary_prefix: str = ".lllm-index-"
) -> bool:
    """Write ``data`` to ``file`` atomically, privately (0600 in a 0700 folder); ``False`` on failure."""
    import tempfile

    temporary = None
    try:
        folder = os.path.dirname(os.fspath(file))
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=temporary_prefix, suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, file)
        return True
    except OSError:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        return False


def read_private(file: str | os.PathLike[str]) -> bytes | None:
    """The bytes of ``file``, or ``None`` when it is missing or not private to this user (in a
    folder only this user may write: another user could have written it)."""
    try:
        file = os.fspath(file)
        if not (is_private(os.path.dirname(file)) and is_private(file)):
            return None
        with open(file, "rb") as f:
            return f.read()
    except OSError:
        return None


def write_record(
    file: str | os.PathLike[str], data: dict[str, Any], *, temporary_prefix: str = ".lllm-index-"
) -> bool:
    """Write ``data`` to ``file`` atomically, privately (0600 in a 0700 folder); ``False`` on failure
    (including data ``marshal`` cannot store)."""
    try:
        payload = marshal.dumps(data)
    except ValueError:
        return False
    return write_private(
        file,
        _MAGIC + zlib.crc32(payload).to_bytes(4, "little") + payload,
        temporary_prefix=temporary_prefix,
    )


def read_record(file: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The data ``write_record`` wrote to ``file``, or ``None`` when the file is missing, not
    private to this user (another user could have written it), damaged or not a record."""
    content = read_private(file)
    if content is None:
        return None
    start = len(_MAGIC) + 4
    if (
        not content.startswith(_MAGIC)
        or zlib.crc32(content[start:]).to_bytes(4, "little") != content[len(_MAGIC) : start]
    ):
        return None
    try:
        data = marshal.loads(content[start:])
    except (EOFError, ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None
