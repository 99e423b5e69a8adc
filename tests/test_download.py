"""Downloads against a real HTTP server on 127.0.0.1 and file:// URLs (no internet needed)."""

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from briskml.download import DownloadError, cache_dir, download, sha256_of

PAYLOAD = b"briskml test payload\n" * 1000
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/served over HTTP on 127.0.0.1; yields (base URL, request log)."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "weights.bin").write_bytes(PAYLOAD)
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    handler = functools.partial(Handler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()


def test_downloads_verifies_and_reuses_the_cached_file(server, tmp_path):
    base, requests = server
    path = download(f"{base}/weights.bin", sha256=PAYLOAD_SHA, folder=tmp_path / "cache",
                    progress=False)
    assert path.read_bytes() == PAYLOAD
    assert download(f"{base}/weights.bin", sha256=PAYLOAD_SHA, folder=tmp_path / "cache",
                    progress=False) == path
    assert len(requests) == 1  # the second call did not touch the network


def test_a_wrong_checksum_is_refused_and_nothing_is_kept(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match="not the expected"):
        download(f"{base}/weights.bin", sha256="0" * 64, folder=tmp_path / "cache",
                 progress=False)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_bad_download_never_replaces_a_good_file(server, tmp_path):
    base, _ = server
    good = tmp_path / "cache" / "weights.bin"
    good.parent.mkdir()
    good.write_bytes(b"the user's file")
    with pytest.raises(DownloadError):
        download(f"{base}/weights.bin", sha256="0" * 64, folder=good.parent, progress=False)
    assert good.read_bytes() == b"the user's file"


def test_without_network_the_error_says_where_to_put_the_file(tmp_path):
    # Port 9 on 127.0.0.1 refuses connections: the same failure as a missing network.
    with pytest.raises(DownloadError, match=r"put it at .*lm\.brisk"):
        download("http://127.0.0.1:9/lm.brisk", folder=tmp_path, progress=False, timeout=5)


def test_a_missing_file_on_the_server_is_a_clear_error(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{base}/missing.bin", folder=tmp_path, progress=False)


def test_file_urls_work_like_http(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(PAYLOAD)
    path = download(source.as_uri(), sha256=PAYLOAD_SHA, folder=tmp_path / "cache",
                    progress=False)
    assert sha256_of(path) == PAYLOAD_SHA


def test_the_cache_folder_follows_briskml_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("BRISKML_CACHE", str(tmp_path))
    assert cache_dir("downloads") == Path(tmp_path) / "downloads"
