"""File writes that a reader (or a crash) never sees half done, and the check that an output
folder is writable before any work starts: for every PNG, GIF, JSON, npz and config the package
writes."""

import os
import tempfile


def _file_mode() -> int:
    """The mode a plain ``open(path, "w")`` gives a new file: 0o666 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def atomic_write(path: str, write) -> None:
    """Calls ``write(temporary_path)`` and renames the result to ``path`` only if it succeeded.

    A reader (or a crash) never sees a half-written ``path``.
    """
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1],
                                         dir=directory)
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, _FILE_MODE)  # mkstemp makes it private to the user
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def check_writable_dir(path: str, flag: str) -> None:
    """Proves that files can be written in folder ``path`` (or, if it does not exist yet, that
    it can be created), so an unwritable or full output folder is reported before any work
    starts. Nothing is left behind: no probe file, no folder.

    Raises:
        ValueError: naming ``--flag``, the folder and the system's reason.
    """
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    try:
        if not os.path.isdir(existing):
            raise NotADirectoryError(20, f"{existing} is a file, not a folder")
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".write-test-") as probe:
            probe.write(b"\0" * 4096)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        raise ValueError(f"--{flag} {path} is not writable: {error.strerror or error}") from error


def atomic_write_text(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` atomically (``atomic_write``)."""
    def write(temporary):
        with open(temporary, "w") as handle:
            handle.write(text)
    atomic_write(path, write)
