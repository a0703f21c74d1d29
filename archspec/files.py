"""Writing an output file: atomically, through links, with the mode the file had (or the umask's)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from archspec.errors import UsageError


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes via a temporary file in the same folder and os.replace: never a
    half-written file.

    A symbolic link is followed: its target is replaced and the link stays. The file keeps the mode it
    had; a new file gets the mode the umask gives (as ``open`` would), not the temporary file's 0600.
    """
    import tempfile  # imported only when a file is written: commands that print stay quick to start

    target = Path(os.path.realpath(path))
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise UsageError(f"cannot write {path}: not a regular file")
    mode = stat.S_IMODE(existing.st_mode) if existing is not None else 0o666 & ~_umask()
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
            os.fchmod(stream.fileno(), mode)
        os.replace(temporary, target)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
        raise


def _umask() -> int:
    current = os.umask(0)  # the only way to read it is to set it
    os.umask(current)
    return current
