"""The decoded-image cache on disk: a class folder is decoded once, then read back.

Decoding and resizing a photo costs milliseconds; reading its 224×224×3 bytes back costs
microseconds. Every image a folder dataset decodes is stored here, keyed by the file (its path,
size, modification and change times and inode: touch or replace a file and it is decoded again),
under a folder per image size; the channel count is the file's own (1 for greyscale, 3 for
colour). Files that fail to decode are remembered as well, with the reason, so the next load
skips them at once.

Layout: `<cache>/images/v1-<H>x<W>-<rule>/<id>.u8` (no `-<rule>` for "lanczos", the rule of
runs made before it was recorded; see `engine.images.decode.RESAMPLE_RULES`) holds records of raw uint8
pixels back to back, and `<id>.json` lists each record's key, offset and channel count (plus the
failures). A shard is written under a temporary name and its JSON renamed into place last, so
readers in any process only ever see complete shards, and two processes filling the cache at once
just write two shards. Records are read with positioned reads into the caller's buffer, not through `mmap`: a
memory-mapped file counts every page read in the process's resident memory, which is what this
cache is meant to keep small.

The cache never grows past its limit: the least recently used shards (of any image size) are
deleted first, never one this process is reading; when nothing more can go, new images are just
not stored (they are decoded again next time).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.caches.folders import IMAGES, cache_dir, default_limit_bytes
from engine.images.decode import DEFAULT_RESAMPLE, LEGACY_RESAMPLE, Resample

FORMAT_VERSION = 1
SHARD_BYTES = 128 * 2**20  # big enough to keep the file count low, small enough to evict by
STALE_TEMPORARY_S = 3600  # a temporary shard untouched this long belongs to a dead process


class ImageCache:
    """Where decoded images go and how much room they may take; cheap to make, safe to share.

    `ImageCache()` is the user's cache folder with the default limit; `ImageCache.disabled()`
    stores nothing (every pass decodes again).
    """

    def __init__(self, root: str | Path | None = None, *, limit_bytes: int | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir(IMAGES)
        self.limit_bytes = default_limit_bytes(IMAGES) if limit_bytes is None else max(0, int(limit_bytes))
        self._stores: dict[tuple[int, int, str], ImageStore] = {}
        self._lock = threading.Lock()

    @classmethod
    def disabled(cls) -> ImageCache:
        return cls(Path(os.devnull), limit_bytes=0)

    @property
    def enabled(self) -> bool:
        return self.limit_bytes > 0

    def store(self, height: int, width: int, resample: Resample = DEFAULT_RESAMPLE) -> ImageStore:
        """The store of one image size and resample rule (one per cache object, so its index is
        read once)."""
        with self._lock:
            key = (int(height), int(width), resample)
            if key not in self._stores:
                self._stores[key] = ImageStore(self, *key)
            return self._stores[key]


@dataclass(eq=False)
class _Shard:
    """One shard's pixel file, opened for reading on first use."""

    name: str
    path: Path
    fd: int | None = None
    used: bool = False  # read or written by this process: never evicted by it
    lock: threading.Lock = field(default_factory=threading.Lock)

    def descriptor(self) -> int | None:
        with self.lock:
            if self.fd is None:
                try:
                    self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                except OSError:  # evicted by another process: a miss
                    return None
            return self.fd

    def close(self) -> None:
        with self.lock:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None


@dataclass
class _Writer:
    """The shard being filled: records appended to a temporary file, listed when finished."""

    shard: _Shard
    fd: int
    temporary_json: Path
    entries: list[list] = field(default_factory=list)
    failures: list[list] = field(default_factory=list)
    size: int = 0


class ImageStore:
    """The cached images of one size and resample rule. Reads are thread-safe; writes come from
    one thread."""

    def __init__(self, cache: ImageCache, height: int, width: int, resample: Resample = DEFAULT_RESAMPLE) -> None:
        self.cache = cache
        self.height, self.width, self.resample = height, width, resample
        # Runs made before the rule was recorded used "lanczos": its images keep their folder.
        rule = "" if resample == LEGACY_RESAMPLE else f"-{resample}"
        self.folder = cache.root / f"v{FORMAT_VERSION}-{height}x{width}{rule}"
        self._entries: dict[bytes, tuple[_Shard, int, int]] = {}  # key -> (shard, offset, channels)
        self._failures: dict[bytes, str] = {}
        self._writer: _Writer | None = None
        self._full = False  # no room left (or the disk refused): stop storing
        self._bytes_used = 0
        self._write_lock = threading.Lock()
        if cache.enabled:
            self._load()

    # --- reading ---------------------------------------------------------------------------------
    def channels(self, key: bytes) -> int | None:
        """The channel count of a cached image, None when it is not cached."""
        entry = self._entries.get(key)
        return entry[2] if entry else None

    def failure(self, key: bytes) -> str | None:
        """Why this file could not be decoded last time, if it could not."""
        return self._failures.get(key)

    def read(self, key: bytes) -> np.ndarray | None:
        """The cached (H, W, C) uint8 image, or None (not cached, or its shard is gone or damaged)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        shard, offset, channels = entry
        fd = shard.descriptor()
        if fd is None:
            return None
        if not shard.used:
            shard.used = True
            _touch(shard.path.with_suffix(".json"))
        image = np.empty((self.height, self.width, channels), np.uint8)
        return image if _read_at(shard, fd, offset, image) else None

    # --- writing ---------------------------------------------------------------------------------
    def write(self, key: bytes, image: np.ndarray) -> bool:
        """Store a decoded image; False when the cache has no room left for it."""
        image = np.ascontiguousarray(image, np.uint8)
        with self._write_lock:
            if key in self._entries:
                return False
            if self._full or not self._make_room(image.nbytes):
                self._full = True  # until the end of this pass: the next one tries again
                return False
            writer = self._writer or self._open_writer()
            if writer is None:
                return False
            try:
                _write_all(writer.fd, memoryview(image).cast("B"))
            except OSError:  # disk full, folder removed...: stop caching, keep training
                self._full = True
                return False
            self._entries[key] = (writer.shard, writer.size, int(image.shape[-1]))
            writer.entries.append([key.hex(), writer.size, int(image.shape[-1])])
            writer.size += image.nbytes
            self._bytes_used += image.nbytes
            if writer.size >= SHARD_BYTES:
                self._finish_shard()
            return True

    def write_failure(self, key: bytes, reason: str) -> None:
        with self._write_lock:
            if not self.cache.enabled or key in self._failures:
                return
            self._failures[key] = reason
            writer = self._writer or self._open_writer()
            if writer is not None:
                writer.failures.append([key.hex(), reason])

    def flush(self) -> None:
        """Finish the shard being written, so other runs and processes can read it."""
        with self._write_lock:
            self._finish_shard()
            self._full = False

    def room_for(self, nbytes: int) -> bool:
        """Whether `nbytes` more fit under the limit (after evicting other runs' shards if need be)."""
        with self._write_lock:
            return self.cache.enabled and not self._full and self._make_room(nbytes)

    # --- internals -------------------------------------------------------------------------------
    def _finish_shard(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        os.close(writer.fd)
        listing = {
            "version": FORMAT_VERSION,
            "height": self.height,
            "width": self.width,
            "entries": writer.entries,
            "failures": writer.failures,
        }
        final = self.folder / f"{writer.shard.name}.u8"
        try:
            writer.temporary_json.write_text(json.dumps(listing))
            os.replace(writer.shard.path, final)
            writer.shard.path = final
            os.replace(writer.temporary_json, final.with_suffix(".json"))
        except OSError:
            self._full = True

    def _open_writer(self) -> _Writer | None:
        name = uuid.uuid4().hex
        temporary = self.folder / f".tmp-{name}.u8"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError:
            self._full = True
            return None
        shard = _Shard(name, temporary, used=True)
        self._writer = _Writer(shard, fd, self.folder / f".tmp-{name}.json")
        return self._writer

    def _make_room(self, nbytes: int) -> bool:
        if not self.cache.enabled:
            return False
        if self._bytes_used + nbytes <= self.cache.limit_bytes:
            return True
        filling = self._writer.size if self._writer is not None else 0  # not listed yet: not evictable
        self._bytes_used = _evict(self.cache.root, self.cache.limit_bytes - nbytes - filling, self._in_use()) + filling
        return self._bytes_used + nbytes <= self.cache.limit_bytes

    def _in_use(self) -> set[Path]:
        shards = {entry[0] for entry in self._entries.values() if entry[0].used}
        return {shard.path.with_suffix(".json") for shard in shards}

    def _load(self) -> None:
        """Read every complete shard's listing; drop temporaries left by dead processes."""
        self._bytes_used = _cache_bytes(self.cache.root)
        if not self.folder.is_dir():
            return
        for listing in sorted(self.folder.glob("*.json")):
            data_path = listing.with_suffix(".u8")
            try:
                content = json.loads(listing.read_text())
                size = data_path.stat().st_size
            except (OSError, ValueError):
                continue
            shard = _Shard(listing.stem, data_path)
            for hex_key, offset, channels in content.get("entries", []):
                if offset + self.height * self.width * channels <= size:
                    self._entries[bytes.fromhex(hex_key)] = (shard, int(offset), int(channels))
            for hex_key, reason in content.get("failures", []):
                self._failures[bytes.fromhex(hex_key)] = str(reason)
        _remove_stale_temporaries(self.folder)


def _read_at(shard: _Shard, fd: int, offset: int, out: np.ndarray) -> bool:
    """Fill `out` from `offset` of the shard's file; False if the file is shorter (damaged)."""
    view = memoryview(out).cast("B")
    if hasattr(os, "preadv"):
        return os.preadv(fd, [view], offset) == len(view)
    with shard.lock:  # no positioned reads on this platform: seek and read
        os.lseek(fd, offset, os.SEEK_SET)
        return os.readv(fd, [view]) == len(view)


def _write_all(fd: int, data: memoryview) -> None:
    while len(data):
        written = os.write(fd, data)
        data = data[written:]


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


def _shard_files(root: Path) -> list[tuple[float, Path, int]]:
    """(last use, listing, bytes of listing + pixels) of every complete shard under `root`."""
    shards = []
    for listing in root.glob(f"v{FORMAT_VERSION}-*/*.json"):
        try:
            used = listing.stat().st_mtime
            size = listing.stat().st_size + listing.with_suffix(".u8").stat().st_size
        except OSError:
            continue
        shards.append((used, listing, size))
    return shards


def _cache_bytes(root: Path) -> int:
    return sum(size for _, _, size in _shard_files(root))


def _evict(root: Path, target: int, keep: set[Path]) -> int:
    """Delete least recently used shards (not those in `keep`) until at most `target` bytes remain;
    the bytes left."""
    shards = sorted(_shard_files(root))
    total = sum(size for _, _, size in shards)
    for _, listing, size in shards:
        if total <= target:
            break
        if listing in keep:
            continue
        for path in (listing, listing.with_suffix(".u8")):  # the listing first: never a listing without pixels
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                break
        else:
            total -= size
    return total


def _remove_stale_temporaries(folder: Path) -> None:
    now = time.time()
    for path in folder.glob(".tmp-*"):
        try:
            if now - path.stat().st_mtime > STALE_TEMPORARY_S:
                path.unlink()
        except OSError:
            pass


def count_entries(root: Path) -> int:
    """Images held under an image-cache folder (for `engine.caches.folders.cache_usage`)."""
    total = 0
    for _, listing, _ in _shard_files(root):
        try:
            total += len(json.loads(listing.read_text()).get("entries", []))
        except (OSError, ValueError):
            continue
    return total
