"""Atomic writes and the writable-folder check."""

import os

import pytest

from dcgan_tf import files


def test_failed_write_leaves_neither_file_nor_temporary(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"previous")

    def broken(temporary):
        with open(temporary, "wb") as handle:
            handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        files.atomic_write(str(target), broken)
    assert os.listdir(tmp_path) == ["out.png"] and target.read_bytes() == b"previous"


def test_unwritable_output_folder_is_named_before_work(tmp_path):
    files.check_writable_dir(str(tmp_path / "new" / "folder"), "output_dir")
    assert os.listdir(tmp_path) == []  # neither the folder nor the probe file is left
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match=f"--output_dir {blocker}/sub is not writable"):
        files.check_writable_dir(str(blocker / "sub"), "output_dir")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ValueError, match="--runs_dir .*locked is not writable"):
            files.check_writable_dir(str(locked), "runs_dir")


def test_full_output_folder_is_named(tmp_path, monkeypatch):
    import errno

    def no_space(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(ValueError, match="--output_dir .* is not writable: No space left"):
        files.check_writable_dir(str(tmp_path), "output_dir")
    assert os.listdir(tmp_path) == []


def test_text_is_written_atomically(tmp_path):
    target = tmp_path / "config.json"
    files.atomic_write_text(str(target), "{}\n")
    assert target.read_text() == "{}\n" and os.listdir(tmp_path) == ["config.json"]
