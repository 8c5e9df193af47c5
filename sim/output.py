"""The one place racesim writes files: path checks before any work, atomic writes after it.

Every output (HTML and Perfetto reports, JUnit XML, schedule files, imported scenarios) goes
through ``write_text``; every command checks its output paths with ``check_file`` or
``check_directory`` before it runs anything, so a bad path costs no sweep time and leaves
nothing behind.

The rules:

- Only regular files are replaced. A directory, a character or block device, a FIFO or a
  socket is refused, never turned into a file.
- A symlink is written *through*: the regular file it points at is replaced (atomically, in
  that file's own directory) and the link stays a link. A symlink to anything else, or a
  dangling one, is refused.
- An existing read-only file is refused rather than silently replaced (also for root, who
  could write it: no write bit for anyone means "do not touch").
- A missing parent directory is an error, never created; so is a directory the process
  cannot write into.
- A new file gets its mode from the umask (0666 & ~umask), as ``open()`` would give it; a
  replaced file keeps the mode it had.
- The write itself: a temp file in the target's directory, fsync, ``os.replace``. A reader
  sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["OutputError", "Target", "check_directory", "check_file", "check_distinct", "write_text"]


class OutputError(ValueError):
    """An output path racesim will not write; ``str()`` is the one line shown to the user."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked output file: ``path`` as the user wrote it, ``real`` the file actually replaced."""

    path: Path
    real: Path

    @property
    def through_symlink(self) -> bool:
        return self.real != self.path

    def describe(self) -> str:
        """How a 'wrote FILE' line names it; says so when it went through a symlink."""
        return f"{self.path} (through the symlink, to {self.real})" if self.through_symlink else str(self.path)


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _writable_dir(directory: Path, label: str) -> None:
    try:
        st = directory.stat()
    except FileNotFoundError:
        raise OutputError(f"{label}: directory {directory} does not exist (racesim does not create it)") from None
    except OSError as exc:
        raise OutputError(f"{label}: directory {directory}: {_why(exc)}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{label}: {directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"{label}: directory {directory} is not writable")


def check_file(path: str | os.PathLike[str], option: str = "output", *, may_exist: bool = True) -> Target:
    """Check that ``path`` can be written as described in the module docstring; raise
    ``OutputError`` (one line naming ``option``) when it cannot. Creates nothing."""
    text = os.fspath(path)
    given = Path(text)
    label = f"{option} {text}" if option else text
    if not text:
        raise OutputError(f"{option or 'output'}: empty file name")
    if text.endswith(os.sep) or given.name in ("", ".", ".."):
        raise OutputError(f"{label}: names a directory, not a file")
    real = given
    try:
        st = given.lstat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"{label}: {_why(exc)}") from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        real = Path(os.path.realpath(given))
        try:
            st = real.stat()
        except OSError:
            raise OutputError(
                f"{label}: a symlink to {real}, which does not exist; racesim writes through symlinks only to existing "
                "regular files"
            ) from None
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(
                f"{label}: a symlink to {real}, {_kind(st.st_mode)}; racesim writes through symlinks only to regular files"
            )
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{label}: is {_kind(st.st_mode)}; racesim replaces only regular files")
        if not may_exist:
            raise OutputError(f"{label}: already exists; racesim will not overwrite it")
        if st.st_mode & 0o222 == 0 or not os.access(real, os.W_OK):
            raise OutputError(f"{label}: is read-only; racesim will not replace it")
    _writable_dir(real.parent if str(real.parent) else Path("."), label)
    return Target(given, real)


def check_directory(path: str | os.PathLike[str], option: str = "output") -> Path:
    """Check an output directory: an existing writable directory, or a missing one whose
    parent exists and is writable (``ensure_directory`` then creates that one level)."""
    text = os.fspath(path)
    label = f"{option} {text}" if option else text
    if not text:
        raise OutputError(f"{option or 'output'}: empty directory name")
    given = Path(text)
    try:
        st = given.stat()
    except FileNotFoundError:
        _writable_dir(given.parent if str(given.parent) else Path("."), label)
        return given
    except OSError as exc:
        raise OutputError(f"{label}: {_why(exc)}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{label}: is {_kind(st.st_mode) if not stat.S_ISREG(st.st_mode) else 'a file'}, not a directory")
    if not os.access(given, os.W_OK | os.X_OK):
        raise OutputError(f"{label}: directory {given} is not writable")
    return given


def ensure_directory(path: Path) -> None:
    """Create a checked output directory (one level: its parent was checked to exist)."""
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create directory ({_why(exc)})") from None


def check_distinct(targets: dict[str, Target]) -> None:
    """Two options naming the same file would overwrite each other: refuse."""
    seen: dict[Path, str] = {}
    for option, target in targets.items():
        key = Path(os.path.abspath(target.real))
        if key in seen:
            raise OutputError(f"{seen[key]} and {option} name the same file {target.path}")
        seen[key] = option


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(target: Target | str | os.PathLike[str], text: str, *, may_exist: bool = True) -> Target:
    """Write ``text`` (UTF-8, ``\\n`` newlines) atomically to a checked target. The target is
    checked again here: the file system may have changed while the work ran."""
    checked = check_file(target.path if isinstance(target, Target) else target, "", may_exist=may_exist)
    real = checked.real
    try:
        mode = stat.S_IMODE(real.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    directory = real.parent if str(real.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"{checked.path}: cannot write ({_why(exc)})") from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, real)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"{checked.path}: cannot write ({_why(exc)})") from None
        raise
    return checked


class InputFileError(ValueError):
    """An input file racesim will not read; ``str()`` is the problem, without the path."""


def read_input(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """Read an untrusted input file (scenario, workflow, schedule), at most ``max_bytes``.

    Only regular files are read: a FIFO would block forever waiting for a writer, a device
    could stream without end. The file is opened non-blocking and checked with fstat, so a
    path swapped for a FIFO after a check cannot block either."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputFileError(f"cannot read: {_why(exc)}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputFileError(f"cannot read: {_kind(mode)}, not a regular file")
    with os.fdopen(fd, "rb") as fh:
        try:
            raw = fh.read(max_bytes + 1)
        except OSError as exc:
            raise InputFileError(f"cannot read: {_why(exc)}") from None
    if len(raw) > max_bytes:
        raise InputFileError(f"larger than {max_bytes} bytes")
    return raw
