"""A run folder as bytes and back: how a run trained on a Ray worker comes home whole.

The worker packs its finished run folder (model, history, metrics, checkpoints, the OOD model:
every file) into an uncompressed tar held in memory (`pack_run`); the bytes travel back as the
task's result through Ray's object store, so nothing assumes a file system the worker and this
machine share. Here `unpack_run` writes them into a hidden temporary folder beside the target and
renames it onto the target in one step: the run folder appears complete or not at all (a crash
leaves a hidden `.incoming-…` folder that the runs list does not show).

Unpacking trusts nothing in the archive: only plain files and folders, by relative paths that
stay inside the run folder, and no more than `MAX_RUN_BYTES` in all.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from engine.core.errors import RunError
from engine.core.files import current_umask, format_bytes, printable_path

MAX_RUN_BYTES = 8 * 2**30  # a run folder bigger than this is not a LayerLab run
_CHUNK = 1 << 20


def pack_run(run_dir: Path) -> bytes:
    """Every file of `run_dir` (recursively, links left out) in an uncompressed tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(Path(run_dir).rglob("*")):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                continue
            tar.add(path, arcname=path.relative_to(run_dir).as_posix(), recursive=False)
    return buffer.getvalue()


def unpack_run(data: bytes, target: Path) -> Path:
    """Write the run packed in `data` as the folder `target`, atomically (see the module
    docstring). `target` must not exist, or be an empty folder (a name reserved for the run).
    `RunError` naming the target for an archive that is not a run's."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = Path(tempfile.mkdtemp(prefix=f".incoming-{target.name}-", dir=target.parent))
    try:
        _extract(data, incoming, target)
        os.chmod(incoming, 0o777 & ~current_umask())  # mkdtemp makes it private; a run folder is not
        _rename_onto(incoming, target)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return target


def _extract(data: bytes, into: Path, target: Path) -> None:
    where = printable_path(target)
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                relative = _safe_relative(member.name, where)
                path = into.joinpath(*relative.parts)
                if member.isdir():
                    path.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise RunError(f"{where}: the run sent home holds {member.name!r}, which is not a plain file")
                total += member.size
                if total > MAX_RUN_BYTES:
                    raise RunError(f"{where}: the run sent home is bigger than {format_bytes(MAX_RUN_BYTES)}")
                path.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None  # a regular file always has its bytes
                with source, open(path, "wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
                    sink.flush()
                    os.fsync(sink.fileno())
    except tarfile.TarError as err:
        raise RunError(f"{where}: the run sent home is not a readable archive ({err})") from None


def _safe_relative(name: str, where: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in name:
        raise RunError(f"{where}: the run sent home names {name!r}, outside its folder")
    return path


def _rename_onto(incoming: Path, target: Path) -> None:
    """Rename `incoming` to `target`; an empty folder there (the reserved name) is replaced."""
    try:
        os.rename(incoming, target)  # POSIX replaces an empty folder in the same step
    except OSError as err:
        if err.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EACCES) or not target.is_dir():
            raise RunError(f"cannot write the run {printable_path(target)}: {err.strerror or err}") from None
        if any(target.iterdir()):
            raise RunError(f"cannot write the run {printable_path(target)}: a folder with files is there") from None
        target.rmdir()  # Windows: no rename onto a folder, so free the name first
        os.rename(incoming, target)
