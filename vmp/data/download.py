"""Downloads for readers with a network: cached, checksummed, atomic, and safely extracted.

``download(url, sha256)`` streams to a temporary file in the cache, checks the SHA-256 and only
then renames it into place, so an interrupted or corrupted download never looks finished.
``extract(archive, target)`` unpacks tar and zip archives after checking that no member would
land outside ``target`` (absolute paths, ``..``, links, devices).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A downloaded or cached file whose SHA-256 is not the expected one."""


class NotTheFileError(ValueError):
    """A server answered with a web page (a moved file, a login or error page) instead of the file."""


class UnsafeArchiveError(ValueError):
    """An archive member that would be written outside the extraction folder, or is a link or device."""


def resolve_cache_dir(path: str | os.PathLike | None = None) -> Path:
    """``path``, else ``$VMP_DATA``, else ``~/.cache/vmp``; created if missing."""
    chosen = Path(path or os.environ.get("VMP_DATA") or Path.home() / ".cache" / "vmp").expanduser()
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def download(
    url: str, sha256: str | None, cache_dir: str | os.PathLike | None = None, filename: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """The path of ``url``'s file in the cache, downloading it if absent; verified against ``sha256``.

    With ``sha256=None`` the hash is recorded on first download (``<file>.sha256``) and every later
    use is checked against that record: trust on first use, for sources that publish no checksum.
    """
    folder = resolve_cache_dir(cache_dir)
    name = filename or Path(urllib.parse.urlparse(url).path).name
    if not name:
        raise ValueError(f"cannot tell a file name from {url!r}; pass filename=")
    target = folder / name
    record = target.with_name(target.name + ".sha256")
    expected = sha256.lower() if sha256 else (record.read_text().strip() if record.exists() else None)
    if target.exists():
        _verify(target, expected, f"cached file {target}")
        return target
    handle, partial_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".partial")
    partial = Path(partial_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            block = response.read(CHUNK)
            _refuse_what_is_not_the_file(url, name, response.headers.get("Content-Type", ""), block)
            while block:
                out.write(block)
                digest.update(block)
                block = response.read(CHUNK)
        actual = digest.hexdigest()
        if expected is not None and actual != expected:
            raise ChecksumError(f"download of {url} has SHA-256 {actual}, expected {expected}; nothing was kept")
        os.replace(partial, target)
        if sha256 is None and not record.exists():
            record.write_text(actual + "\n")
    finally:
        partial.unlink(missing_ok=True)
    return target


#: The first bytes an archive of each kind starts with, checked before a download is kept or trusted.
ARCHIVE_MAGIC = {".zip": (b"PK\x03\x04",), ".rar": (b"Rar!\x1a\x07",), ".gz": (b"\x1f\x8b",), ".tgz": (b"\x1f\x8b",)}


def _refuse_what_is_not_the_file(url: str, name: str, content_type: str, start: bytes) -> None:
    """Raise if a download that should be ``name`` is an HTML page, or not the archive its name says:
    it must be neither kept nor trusted."""
    if name.lower().endswith((".html", ".htm")):
        return
    looks_like_html = start.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
    if looks_like_html or content_type.split(";")[0].strip().lower() == "text/html":
        raise NotTheFileError(f"{url} returned a web page (Content-Type {content_type or 'unknown'!r}), not {name}: "
                              "the file has probably moved; nothing was kept or recorded")
    magic = ARCHIVE_MAGIC.get(Path(name).suffix.lower())
    if magic and not start.startswith(magic):
        raise NotTheFileError(f"{url} did not return a {Path(name).suffix} archive (it starts with {start[:8]!r}), "
                              f"so it is not {name}; nothing was kept or recorded")


def _verify(path: Path, expected: str | None, what: str) -> None:
    if expected is None:
        return
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumError(f"{what} has SHA-256 {actual}, expected {expected}; delete it to download again")


def _inside(root: Path, member: str) -> Path:
    destination = (root / member).resolve()
    if os.path.isabs(member) or not destination.is_relative_to(root):
        raise UnsafeArchiveError(f"archive member {member!r} would be written outside {root}")
    return destination


def extract(archive: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Unpack a tar (any compression) or zip archive into ``target`` after checking every member."""
    archive, root = Path(archive), Path(target).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as bundle:
            for info in bundle.infolist():
                _inside(root, info.filename)
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise UnsafeArchiveError(f"archive member {info.filename!r} in {archive} is a link")
            bundle.extractall(root)
        return root
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as bundle:
            members = bundle.getmembers()
            for member in members:
                _inside(root, member.name)
                if not (member.isfile() or member.isdir()):
                    raise UnsafeArchiveError(f"archive member {member.name!r} in {archive} is a link or device")
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python >= 3.10.12
            bundle.extractall(root, members=members, **safe)
        return root
    raise ValueError(f"{archive} is neither a tar nor a zip archive")


# Recipes -------------------------------------------------------------------------------------------

#: The UCF101 subset (10 classes, train/val/test class folders) published on the Hugging Face hub.
UCF101_SUBSET_URL = "https://huggingface.co/datasets/sayakpaul/ucf101-subset/resolve/main/UCF101_subset.tar.gz"
#: Where HMDB-51's archives (a RAR of per-class RARs, and the official split files) used to be. These
#: addresses now answer with a web page, which :func:`download` refuses, and no other address could
#: be verified as current, so :func:`hmdb51` has no default: bring the two archives.
HMDB51_RETIRED = ("http://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/hmdb51_org.rar",
                  "http://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/test_train_splits.rar")


def ucf101_subset(
    cache: str | os.PathLike | None = None, sha256: str | None = None, url: str = UCF101_SUBSET_URL
) -> Path:
    """Download and unpack the UCF101 subset; returns the folder holding ``train/val/test``.

    Pass ``sha256`` to pin the archive; by default its hash is recorded on first download.
    """
    folder = resolve_cache_dir(cache)
    archive = download(url, sha256, folder)
    root = extract(archive, folder / "ucf101_subset")
    found = [p.parent for p in root.rglob("train") if p.is_dir()]
    if not found:
        raise FileNotFoundError(f"no train/ folder inside {archive}")
    return found[0]


def hmdb51(url: str, splits_url: str, cache: str | os.PathLike | None = None, sha256: str | None = None) -> Path:
    """Fetch HMDB-51's videos (``hmdb51_org.rar``) and split files (``test_train_splits.rar``) from
    addresses you give, and unpack them (``pip install "vmp[hmdb]"`` for ``rarfile``, plus an unrar
    tool: ``apt-get install unrar`` or ``unar``).

    The original addresses (:data:`HMDB51_RETIRED`) are retired and no replacement could be verified,
    so there is no default: download the two archives from a source you trust and pass their
    addresses, ``file:///path/to/hmdb51_org.rar`` for a copy on disk. Each is checked to be a RAR
    archive before it is kept.
    """
    if not url or not splits_url:
        raise ValueError("hmdb51 needs the addresses of hmdb51_org.rar and test_train_splits.rar "
                         "(https:// or file://); the original ones are retired (vmp.data.download.HMDB51_RETIRED)")
    try:
        import rarfile
    except ImportError as error:
        raise ImportError(
            'HMDB51 ships as RAR archives: pip install "vmp[hmdb]" (rarfile), and install unrar'
        ) from error
    folder = resolve_cache_dir(cache)
    root = folder / "hmdb51"
    for address in (url, splits_url):
        archive = download(address, sha256 if address == url else None, folder)
        with rarfile.RarFile(archive) as bundle:
            for name in bundle.namelist():
                _inside(root.resolve(), name)
            bundle.extractall(root)
    for inner in sorted(root.glob("*.rar")):
        with rarfile.RarFile(inner) as bundle:
            for name in bundle.namelist():
                _inside((root / "videos").resolve(), name)
            bundle.extractall(root / "videos")
        inner.unlink()
    return root
