"""Downloads against a server on 127.0.0.1 (never the internet), and archives that try to escape."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading
import zipfile

import pytest
from videos import write_indexed_video

from vmp.data.download import (
    ChecksumError,
    NotTheFileError,
    UnsafeArchiveError,
    download,
    extract,
    resolve_cache_dir,
    ucf101_subset,
)


@pytest.fixture()
def server(tmp_path):
    """Serve tmp_path/www on a free loopback port for the duration of one test."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_download_verifies_and_caches(server, tmp_path):
    root, url = server
    (root / "weights.bin").write_bytes(b"x" * 5000)
    cache = tmp_path / "cache"
    path = download(f"{url}/weights.bin", sha(b"x" * 5000), cache_dir=cache)
    assert path == cache / "weights.bin" and path.read_bytes() == b"x" * 5000
    (root / "weights.bin").unlink()  # served no more: the cached copy must be used
    assert download(f"{url}/weights.bin", sha(b"x" * 5000), cache_dir=cache) == path
    assert [p.name for p in cache.iterdir()] == ["weights.bin"]  # no partial files left


def test_wrong_checksum_keeps_nothing(server, tmp_path):
    root, url = server
    (root / "data.tar").write_bytes(b"tampered")
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError, match="data.tar has SHA-256 .* expected 0000"):
        download(f"{url}/data.tar", "0" * 64, cache_dir=cache)
    assert list(cache.iterdir()) == []


def test_corrupted_cache_is_detected(server, tmp_path):
    root, url = server
    (root / "a.bin").write_bytes(b"good")
    cache = tmp_path / "cache"
    path = download(f"{url}/a.bin", sha(b"good"), cache_dir=cache)
    path.write_bytes(b"bad!")
    with pytest.raises(ChecksumError, match="cached file .*a.bin"):
        download(f"{url}/a.bin", sha(b"good"), cache_dir=cache)


def test_trust_on_first_use_records_the_hash(server, tmp_path):
    root, url = server
    (root / "b.bin").write_bytes(b"first")
    cache = tmp_path / "cache"
    path = download(f"{url}/b.bin", None, cache_dir=cache)
    assert (cache / "b.bin.sha256").read_text().strip() == sha(b"first")
    path.write_bytes(b"changed")
    with pytest.raises(ChecksumError):
        download(f"{url}/b.bin", None, cache_dir=cache)


def test_cache_dir_defaults_to_vmp_data(monkeypatch, tmp_path):
    monkeypatch.setenv("VMP_DATA", str(tmp_path / "from-env"))
    assert resolve_cache_dir() == tmp_path / "from-env" and (tmp_path / "from-env").is_dir()


def test_unreachable_server_is_an_error_and_leaves_nothing(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(OSError):
        download("http://127.0.0.1:9/none.bin", None, cache_dir=cache, timeout=2)
    assert list(cache.iterdir()) == []


def tar_with(members: list[tarfile.TarInfo], payload: bytes = b"evil") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        for member in members:
            if member.isfile():
                member.size = len(payload)
                bundle.addfile(member, io.BytesIO(payload))
            else:
                bundle.addfile(member)
    return buffer.getvalue()


def link(name: str, target: str, kind=tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize(
    "members",
    [
        [tarfile.TarInfo("../escaped.txt")],
        [tarfile.TarInfo("ok/../../escaped.txt")],
        [tarfile.TarInfo("/tmp/escaped-absolute.txt")],
        [link("innocent", "/etc/passwd")],
        [link("hard", "../escaped.txt", tarfile.LNKTYPE)],
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink", "hardlink"],
)
def test_malicious_tar_is_refused_before_anything_is_written(tmp_path, members):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(tar_with([tarfile.TarInfo("harmless.txt"), *members]))
    target = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match="evil.tar.gz|outside"):
        extract(archive, target)
    assert not (tmp_path / "escaped.txt").exists()
    assert list(target.iterdir()) == []  # checked before extracting: not even the harmless member


def test_malicious_zip_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("fine.txt", "ok")
        bundle.writestr("../../escaped.txt", "evil")
    with pytest.raises(UnsafeArchiveError, match="outside"):
        extract(archive, tmp_path / "out")
    symlinked = tmp_path / "link.zip"
    with zipfile.ZipFile(symlinked, "w") as bundle:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16)
        bundle.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="is a link"):
        extract(symlinked, tmp_path / "out2")
    assert not (tmp_path / "escaped.txt").exists()


def test_safe_archives_extract(tmp_path):
    archive = tmp_path / "fine.tar.gz"
    directory = tarfile.TarInfo("folder")
    directory.type = tarfile.DIRTYPE
    archive.write_bytes(tar_with([directory, tarfile.TarInfo("folder/file.txt")], b"content"))
    assert (extract(archive, tmp_path / "out") / "folder" / "file.txt").read_bytes() == b"content"
    with pytest.raises(ValueError, match="neither a tar nor a zip"):
        extract(tmp_path / "out" / "folder" / "file.txt", tmp_path / "x")


def test_ucf101_subset_recipe_on_a_local_mirror(server, tmp_path):
    """The recipe's download, check and unpacking, with the archive served from 127.0.0.1."""
    root, url = server
    staging = tmp_path / "staging" / "UCF101_subset"
    for split in ("train", "val", "test"):
        for name in ("ApplyEyeMakeup", "Basketball"):
            write_indexed_video(staging / split / name / f"v_{name}_g01_c01.avi", count=12)
    archive = root / "UCF101_subset.tar.gz"
    with tarfile.open(archive, "w:gz") as bundle:
        bundle.add(staging, arcname="UCF101_subset")
    folder = ucf101_subset(tmp_path / "cache", sha256=sha(archive.read_bytes()), url=f"{url}/UCF101_subset.tar.gz")
    from vmp.data import VideoFolder

    dataset = VideoFolder(folder, "val", frames=4)
    assert dataset.classes == ["ApplyEyeMakeup", "Basketball"] and dataset[0][0].shape[0] == 4


def test_a_web_page_in_place_of_the_file_is_neither_kept_nor_trusted(server, tmp_path):
    root, url = server
    (root / "hmdb51_org.rar").write_bytes(b"\n<!DOCTYPE html><html><body>This page has moved</body></html>")
    cache = tmp_path / "cache"
    with pytest.raises(NotTheFileError, match="returned a web page .* not hmdb51_org.rar"):
        download(f"{url}/hmdb51_org.rar", None, cache_dir=cache)
    assert list(cache.iterdir()) == []  # no file, no recorded hash: the next try downloads again
    (root / "real.html").write_bytes(b"<html>a page that is the file asked for</html>")
    assert download(f"{url}/real.html", None, cache_dir=cache).read_bytes().startswith(b"<html>")


def test_a_file_that_is_not_the_archive_its_name_says_is_neither_kept_nor_trusted(server, tmp_path):
    root, url = server
    cache = tmp_path / "cache"
    for name in ("videos.rar", "subset.zip", "subset.tar.gz"):
        (root / name).write_bytes(b"plain text, not an archive")
        with pytest.raises(NotTheFileError, match=f"{url}/{name} did not return a .* archive"):
            download(f"{url}/{name}", None, cache_dir=cache)
    assert list(cache.iterdir()) == []
    (root / "real.rar").write_bytes(b"Rar!\x1a\x07\x01\x00" + bytes(32))
    assert download(f"{url}/real.rar", None, cache_dir=cache).read_bytes().startswith(b"Rar!")


def test_hmdb51_has_no_retired_default_and_says_what_to_bring(tmp_path):
    from vmp.data.download import hmdb51

    with pytest.raises(TypeError):
        hmdb51()  # the addresses are required: the original ones are retired
    with pytest.raises(ValueError, match="hmdb51_org.rar and test_train_splits.rar"):
        hmdb51("", "", cache=tmp_path)
