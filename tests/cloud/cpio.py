"""A writer of initramfs archives: cpio's "newc" format, every entry owned by root, timestamps zero (the same
inputs give the same bytes)."""

from __future__ import annotations

import stat


class Archive:
    """Entries added in order (a directory before what it holds); ``finish`` returns the archive's bytes."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._directories: set[str] = set()
        self._inode = 0

    def directory(self, path: str) -> None:
        if path and path not in self._directories:
            self.directory(path.rpartition("/")[0])
            self._directories.add(path)
            self._entry(path, stat.S_IFDIR | 0o755, b"")

    def file(self, path: str, data: bytes, mode: int) -> None:
        self.directory(path.rpartition("/")[0])
        self._entry(path, stat.S_IFREG | mode, data)

    def symlink(self, path: str, target: str) -> None:
        self.directory(path.rpartition("/")[0])
        self._entry(path, stat.S_IFLNK | 0o777, target.encode())

    def device(self, path: str, major: int, minor: int) -> None:
        """A character device node (the kernel opens ``dev/console`` before init runs)."""
        self.directory(path.rpartition("/")[0])
        self._entry(path, stat.S_IFCHR | 0o600, b"", (major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0, b"")
        return b"".join(self._parts)

    def _entry(self, name: str, mode: int, data: bytes, rdev: tuple[int, int] = (0, 0)) -> None:
        self._inode += 1
        encoded = name.encode() + b"\0"
        fields = (self._inode, mode, 0, 0, 1, 0, len(data), 0, 0, *rdev, len(encoded), 0)
        header = b"070701" + b"".join(b"%08X" % value for value in fields)
        self._parts += [header, encoded, _padding(len(header) + len(encoded)), data, _padding(len(data))]


def _padding(length: int) -> bytes:
    return b"\0" * (-length % 4)
