"""get_file: caching, hashes, extraction (with path-traversal protection), file:// and a
local HTTP server on 127.0.0.1. No test touches the network."""
import hashlib
import http.server
import io
import os
import tarfile
import threading
import zipfile

import pytest

from shendu.utils import get_file
from shendu.utils.file_utils import extract_archive, hash_file, validate_file


class _Handler(http.server.SimpleHTTPRequestHandler):
    hits = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        _Handler.hits.append(self.path)
        return super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: _Handler(*a, directory=str(root), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.hits = []
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_cache_and_hash(server, tmp_path):
    root, url = server
    (root / "data.bin").write_bytes(b"x" * 1000)
    sha = hashlib.sha256(b"x" * 1000).hexdigest()
    md5 = hashlib.md5(b"x" * 1000).hexdigest()
    cache = tmp_path / "cache"
    path = get_file(origin=f"{url}/data.bin", file_hash=sha, cache_dir=str(cache))
    assert path == str(cache / "datasets" / "data.bin")
    assert open(path, "rb").read() == b"x" * 1000 and len(_Handler.hits) == 1
    # cached: no second request, with a sha256 (auto) or md5 hash
    assert get_file("data.bin", f"{url}/data.bin", file_hash=sha, cache_dir=str(cache)) == path
    assert get_file("data.bin", f"{url}/data.bin", md5_hash=md5, cache_dir=str(cache)) == path
    assert len(_Handler.hits) == 1
    get_file("data.bin", f"{url}/data.bin", cache_dir=str(cache), force_download=True)
    assert len(_Handler.hits) == 2
    # a cached file with the wrong content is fetched again
    with open(path, "wb") as f:
        f.write(b"damaged")
    get_file("data.bin", f"{url}/data.bin", file_hash=sha, cache_dir=str(cache))
    assert open(path, "rb").read() == b"x" * 1000 and len(_Handler.hits) == 3
    assert hash_file(path) == sha and hash_file(path, "md5") == md5
    assert validate_file(path, md5) and not validate_file(path, "0" * 64)


def test_wrong_hash_keeps_nothing(server, tmp_path):
    root, url = server
    (root / "data.bin").write_bytes(b"abc")
    with pytest.raises(ValueError, match="Incomplete or corrupted file detected"):
        get_file(origin=f"{url}/data.bin", file_hash="0" * 64, cache_dir=str(tmp_path))
    assert os.listdir(tmp_path / "datasets") == []


def test_http_error_and_unreachable_server(server, tmp_path):
    _, url = server
    with pytest.raises(OSError, match="URL fetch failure on .*/missing.bin: 404"):
        get_file(origin=f"{url}/missing.bin", cache_dir=str(tmp_path))
    with pytest.raises(OSError, match="URL fetch failure.*put the file at"):
        get_file(origin="http://127.0.0.1:1/x.bin", cache_dir=str(tmp_path))
    assert os.listdir(tmp_path / "datasets") == []


def test_offline_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("SHENDU_OFFLINE", "1")
    with pytest.raises(OSError, match="SHENDU_OFFLINE is set"):
        get_file(origin="https://example.invalid/a.bin", cache_dir=str(tmp_path))


def test_file_url_and_arguments(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("hello")
    path = get_file(origin=src.as_uri(), cache_dir=str(tmp_path / "c"), cache_subdir="sub")
    assert path == str(tmp_path / "c" / "sub" / "a.txt") and open(path).read() == "hello"
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        get_file(os.path.join("x", "a.txt"), src.as_uri(), cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match='specify the "origin"'):
        get_file("a.txt")
    with pytest.raises(ValueError, match="Can't parse the file name"):
        get_file(origin="http://127.0.0.1/", cache_dir=str(tmp_path))


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_extract_tar_and_zip(tmp_path):
    _tar(tmp_path / "pack.tar.gz", {"pack/a.txt": b"A", "pack/sub/b.txt": b"B"})
    out = get_file("pack.tar.gz", (tmp_path / "pack.tar.gz").as_uri(), extract=True,
                   cache_dir=str(tmp_path / "c"))
    assert out == str(tmp_path / "c" / "datasets" / "pack_extracted")
    assert open(os.path.join(out, "pack", "sub", "b.txt")).read() == "B"
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as z:
        z.writestr("z/one.txt", "1")
    out = get_file(origin=(tmp_path / "z.zip").as_uri(), extract=True, cache_dir=str(tmp_path / "c"))
    assert out == str(tmp_path / "c" / "datasets" / "z.zip")
    assert open(os.path.join(out, "z", "one.txt")).read() == "1"
    assert os.path.isfile(str(tmp_path / "c" / "datasets" / "z.zip_archive"))


def test_extraction_refuses_path_traversal(tmp_path):
    _tar(tmp_path / "evil.tar.gz", {"../escaped.txt": b"x", "/tmp/abs_escape.txt": b"x",
                                    "ok.txt": b"fine"})
    with tarfile.open(tmp_path / "link.tar", "w") as tar:
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "../../outside"
        tar.addfile(link)
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as z:
        z.writestr("../zip_escaped.txt", "x")
        z.writestr("good.txt", "g")
    dest = tmp_path / "out" / "dest"
    with pytest.warns(UserWarning, match="Skipping invalid path"):
        assert extract_archive(str(tmp_path / "evil.tar.gz"), str(dest))
    assert sorted(os.listdir(dest)) == ["ok.txt"]
    assert not (tmp_path / "out" / "escaped.txt").exists()
    with pytest.warns(UserWarning, match="Skipping invalid path"):
        extract_archive(str(tmp_path / "link.tar"), str(tmp_path / "out" / "l"))
    assert os.listdir(tmp_path / "out" / "l") == []
    with pytest.warns(UserWarning, match="Skipping invalid path"):
        extract_archive(str(tmp_path / "evil.zip"), str(tmp_path / "out" / "z"))
    assert os.listdir(tmp_path / "out" / "z") == ["good.txt"]
    assert not (tmp_path / "out" / "zip_escaped.txt").exists()
    (tmp_path / "plain.txt").write_text("not an archive")
    assert not extract_archive(str(tmp_path / "plain.txt"), str(tmp_path / "out" / "p"))
