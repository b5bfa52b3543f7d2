"""Files, safely: check a path a user gave before anything reads it, read it with a size cap, and
write files atomically.

Users hand LayerLab anything: named pipes (reading one blocks forever), `/dev/zero` (never ends),
symbolic links to nowhere or to themselves, folders, files that are too big, files whose names
are not UTF-8. Every reader of a user file (images, `.npz` datasets, models) goes through
`check_regular_file` first: only a regular file, after resolving links, of a sane size is ever
opened, and every refusal is one sentence naming the file in a form that always prints.

Every file LayerLab writes for the user (run files, checkpoints, label decisions, grid records)
goes through `atomic_write`: a hidden temporary in the same folder, renamed onto the target, so a
crash or a kill leaves the old file or the new one, never half of one; the file gets the
permissions the user's umask gives any new file (`mkstemp` alone would make it private).
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.core.errors import ImageError, LayerLabError

# What `stat` calls each kind of special file, in words a user knows.
_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def printable_path(path: str | Path | bytes) -> str:
    """The path as text that any terminal or label can show.

    A file name that is not valid UTF-8 reaches Python with "surrogate" characters in it, which
    `print` to a UTF-8 stream refuses; they become U+FFFD (�) here, so a message naming the file
    never fails to print.
    """
    raw = os.fsencode(path)
    return raw.decode("utf-8", errors="replace")


def printable_name(path: str | Path | bytes) -> str:
    """The last part of the path (the file name), printable (see `printable_path`)."""
    return printable_path(os.path.basename(os.fsencode(path).rstrip(b"/")) or os.fsencode(path))


def format_bytes(count: int) -> str:
    """1536 -> "1.5 KiB": sizes in messages, binary units like the memory figures users see."""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def check_regular_file(
    path: str | Path, *, max_bytes: int, error: type[LayerLabError] = ImageError, what: str = "a file"
) -> os.stat_result:
    """Refuse, with one clear sentence in an `error`, anything but a readable regular file of at
    most `max_bytes`; return its `stat` (after following links). `what` names what the file
    should be, with its article ("an image"), for the messages.

    The checks use `os.stat`/`os.lstat` only: nothing is opened, so a named pipe cannot block
    and `/dev/zero` is never read. Cases named: not found, a link to nowhere, a link loop, a
    folder, a pipe/device/socket, empty, too big, not readable.
    """
    path = Path(path).expanduser()
    name = printable_path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            target = printable_path(os.readlink(path))
            raise error(f"{name} is a link to {target}, which does not exist") from None
        raise error(_not_found(path, name)) from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise error(f"{name} is a symbolic link that points back to itself (a loop)") from None
        if err.errno == errno.ENAMETOOLONG:
            raise error(f"the path {name[:80]}… is too long") from None
        raise error(f"cannot read {name}: {err.strerror or err}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{name} is a folder, not {what}")
    for test, kind in _SPECIAL_KINDS:
        if test(info.st_mode):
            raise error(f"{name} is {kind}, not {what}; LayerLab only reads regular files")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{name} is not a regular file; LayerLab only reads regular files")
    if info.st_size == 0:
        raise error(f"{name} is an empty file")
    if info.st_size > max_bytes:
        raise error(
            f"{name} is too big ({format_bytes(info.st_size)}; LayerLab's limit for {what} "
            f"is {format_bytes(max_bytes)})"
        )
    if not os.access(path, os.R_OK):
        raise error(f"cannot read {name}: permission denied")
    return info


def _not_found(path: Path, name: str) -> str:
    """Why `path` is not there. A name with U+FFFD (�) in it often stands for a file whose name is
    not valid UTF-8, decoded by something that replaced the bytes it could not read (a drop, a
    copy from a terminal): the file is there under its real name, which this one cannot reach."""
    if "\ufffd" in str(path):
        try:
            twins = [entry for entry in os.listdir(os.fsencode(path.parent)) if printable_name(entry) == path.name]
        except OSError:
            twins = []
        if twins:
            return (
                f"{name}: a file whose name looks like this is there, but its real name is not valid UTF-8 "
                "text and was altered on its way to LayerLab; rename the file and try again"
            )
    return f"file not found: {name}"


def read_regular_file(
    path: str | Path, *, max_bytes: int, error: type[LayerLabError] = ImageError, what: str = "a file"
) -> bytes:
    """The bytes of a regular file of at most `max_bytes`, after `check_regular_file`.

    Opened with O_NONBLOCK and checked again on the open descriptor, so a file swapped for a pipe
    between the check and the open still cannot block; reads stop at `max_bytes` whatever the
    file claims.
    """
    check_regular_file(path, max_bytes=max_bytes, error=error, what=what)
    name = printable_path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(Path(path).expanduser(), flags)
    except OSError as err:
        raise error(f"cannot read {name}: {err.strerror or err}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"{name} is not a regular file; LayerLab only reads regular files")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as err:
        raise error(f"cannot read {name}: {err.strerror or err}") from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise error(f"{name} is too big (over {format_bytes(max_bytes)}, LayerLab's limit for {what})")
    if total == 0:
        raise error(f"{name} is an empty file")
    return b"".join(chunks)


# --- writing ---------------------------------------------------------------------------------------
def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp_path)` then rename onto `path`: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_json(path: Path, data: Any, *, durable: bool = True) -> None:
    """Write JSON atomically; `durable=False` skips the fsync for files rewritten every epoch
    (the rename alone already keeps readers from ever seeing half a file)."""
    text = json.dumps(data, indent=2, allow_nan=False, default=_json_default)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())

    atomic_write(path, write)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def current_umask() -> int:
    """The process's umask, read without changing it where Linux tells it (`/proc/self/status`);
    elsewhere by setting and restoring it, which is only briefly racy with other threads."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
