"""Downloading IDX files from mirrors, against HTTP servers the tests start on 127.0.0.1."""

from __future__ import annotations

import http.server
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mlpbench.data import load_dataset
from mlpbench.data.sources import IDX_DATASETS
from mlpbench.errors import DataError


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
        self.server.requests.append(self.path)
        status, body, length = self.server.routes.get(self.path, (404, b"not found", None))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server:
    """A threaded HTTP server on 127.0.0.1 that serves fixed responses by path."""

    def __init__(self) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.routes = {}
        self.httpd.requests = []
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def serve(self, path: str, body: bytes, status: int = 200, length: int | None = None) -> None:
        """Serve ``body`` for GET ``path``; ``length`` overrides the Content-Length header."""
        self.httpd.routes[path] = (status, body, length)

    def serve_files(self, prefix: str, files: dict[str, bytes], status: int = 200) -> str:
        """Serve each file as ``prefix/<name>.gz`` and return the mirror base URL."""
        for name, body in files.items():
            self.serve(f"{prefix}/{name}.gz", body, status)
        return f"{self.url}{prefix}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


def _refused_url() -> str:
    """Return a URL on 127.0.0.1 whose port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/data/"


def _files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_download_from_mirror(data_env, tiny_idx, server, monkeypatch) -> None:
    mirror = server.serve_files("/tiny", tiny_idx.gz)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(mirror,)))

    dataset = load_dataset("tiny", progress=False)

    cache = data_env / "tiny"
    assert [p.name for p in _files_in(cache)] == sorted(f"{name}.gz" for name in tiny_idx.gz)
    for name, body in tiny_idx.gz.items():
        assert (cache / f"{name}.gz").read_bytes() == body
    assert str(cache) in dataset.source
    assert "checksums verified" in dataset.source
    expected = tiny_idx.arrays["train_images"].reshape(6, 16).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(dataset.x_train, expected)
    np.testing.assert_array_equal(dataset.y_test, [2, 1, 0])


def test_download_reuses_cache(data_env, tiny_idx, server, monkeypatch) -> None:
    mirror = server.serve_files("/tiny", tiny_idx.gz)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(mirror,)))
    load_dataset("tiny", progress=False)
    server.requests.clear()

    load_dataset("tiny", progress=False)

    assert server.requests == []


def test_download_fetches_only_missing_files(data_env, tiny_idx, server, monkeypatch) -> None:
    mirror = server.serve_files("/tiny", tiny_idx.gz)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(mirror,)))
    cache = tiny_idx.write(data_env / "tiny")
    (cache / "train-images-idx3-ubyte.gz").unlink()

    load_dataset("tiny", progress=False)

    assert server.requests == ["/tiny/train-images-idx3-ubyte.gz"]


def test_failed_download_lists_only_files_still_missing(data_env, tiny_idx, server, monkeypatch) -> None:
    # Two files are in the cache and the mirror serves nothing, so only the other two are missing.
    mirror = server.serve_files("/tiny", {})
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(mirror,)))
    cache = tiny_idx.write(data_env / "tiny")
    (cache / "train-images-idx3-ubyte.gz").unlink()
    (cache / "t10k-labels-idx1-ubyte.gz").unlink()

    with pytest.raises(DataError) as caught:
        load_dataset("tiny", progress=False)

    headline = str(caught.value).splitlines()[0]
    assert headline == "Tiny files not found: train-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]."
    assert "retry when a mirror is reachable and serves the published files" in str(caught.value)


def test_download_shows_progress_on_stderr(data_env, tiny_idx, server, monkeypatch, capsys) -> None:
    mirror = server.serve_files("/tiny", tiny_idx.gz)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(mirror,)))

    load_dataset("tiny", progress=True)

    captured = capsys.readouterr()
    assert "train-images-idx3-ubyte.gz" in captured.err
    assert captured.out == ""


def test_download_checksum_mismatch_leaves_nothing(data_env, tiny_idx, server, monkeypatch) -> None:
    mirror = server.serve_files("/tiny", tiny_idx.gz)
    wrong = {name: "0" * 32 for name in tiny_idx.gz}
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(mirror,), md5=wrong))

    with pytest.raises(DataError) as caught:
        load_dataset("tiny", progress=False)

    message = str(caught.value)
    assert "checksum mismatch" in message
    assert "expected 00000000000000000000000000000000" in message
    assert _files_in(data_env) == []


def test_download_mismatch_tries_next_mirror(data_env, tiny_idx, server, monkeypatch) -> None:
    corrupt = {name: body[:-1] + b"\x00" for name, body in tiny_idx.gz.items()}
    bad_mirror = server.serve_files("/bad", corrupt)
    good_mirror = server.serve_files("/good", tiny_idx.gz)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(bad_mirror, good_mirror)))

    dataset = load_dataset("tiny", progress=False)

    assert dataset.x_train.shape == (6, 16)
    for name, body in tiny_idx.gz.items():
        assert (data_env / "tiny" / f"{name}.gz").read_bytes() == body


def test_download_skips_mirror_with_404(data_env, tiny_idx, server, monkeypatch) -> None:
    good_mirror = server.serve_files("/good", tiny_idx.gz)
    missing_mirror = f"{server.url}/missing/"
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(missing_mirror, good_mirror)))

    dataset = load_dataset("tiny", progress=False)

    assert dataset.y_train.tolist() == [0, 1, 2, 0, 1, 2]
    assert "/missing/train-images-idx3-ubyte.gz" in server.requests
    assert "/good/train-images-idx3-ubyte.gz" in server.requests


def test_download_warns_once_per_failed_mirror(data_env, tiny_idx, server, monkeypatch, caplog) -> None:
    good_mirror = server.serve_files("/good", tiny_idx.gz)
    missing_mirror = f"{server.url}/missing/"
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(missing_mirror, good_mirror)))

    with caplog.at_level("WARNING", logger="mlpbench"):
        load_dataset("tiny", progress=False)

    # One warning per file, each naming the mirror that failed it.
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == len(tiny_idx.gz)
    assert all("1 mirror(s) failed before" in message for message in warnings)
    assert all(f"{missing_mirror}" in message and "HTTP 404" in message for message in warnings)


def test_download_failure_reported_only_in_error(data_env, tiny_idx, server, monkeypatch, caplog) -> None:
    first = server.serve_files("/one", tiny_idx.gz, status=500)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(first,)))

    with caplog.at_level("WARNING", logger="mlpbench"), pytest.raises(DataError) as caught:
        load_dataset("tiny", progress=False)

    assert "HTTP 500" in str(caught.value)
    assert [record for record in caplog.records if record.levelname == "WARNING"] == []


def test_download_skips_refused_mirror(data_env, tiny_idx, server, monkeypatch) -> None:
    good_mirror = server.serve_files("/good", tiny_idx.gz)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(_refused_url(), good_mirror)))

    dataset = load_dataset("tiny", progress=False)

    assert dataset.x_test.shape == (3, 16)


def test_download_skips_truncated_transfer(data_env, tiny_idx, server, monkeypatch) -> None:
    # The first mirror promises more bytes than it sends, then closes the connection.
    for name, body in tiny_idx.gz.items():
        server.serve(f"/short/{name}.gz", body[:20], length=len(body))
    good_mirror = server.serve_files("/good", tiny_idx.gz)
    mirrors = (f"{server.url}/short/", good_mirror)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=mirrors))

    load_dataset("tiny", progress=False)

    cache = data_env / "tiny"
    assert [p.name for p in _files_in(cache)] == sorted(f"{name}.gz" for name in tiny_idx.gz)


def test_download_names_short_transfer(data_env, tiny_idx, server, monkeypatch) -> None:
    body = tiny_idx.gz["train-images-idx3-ubyte"]
    for name, whole in tiny_idx.gz.items():
        server.serve(f"/short/{name}.gz", whole[:20], length=len(whole))
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(f"{server.url}/short/",)))

    with pytest.raises(DataError) as caught:
        load_dataset("tiny", progress=False)

    assert f"the connection closed after 20 of {len(body):,} bytes" in str(caught.value)
    assert "checksum" not in str(caught.value)
    assert _files_in(data_env / "tiny") == []


def test_download_all_mirrors_fail(data_env, tiny_idx, server, monkeypatch) -> None:
    first = server.serve_files("/one", tiny_idx.gz, status=500)
    second = server.serve_files("/two", tiny_idx.gz, status=500)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(first, second)))

    with pytest.raises(DataError) as caught:
        load_dataset("tiny", progress=False)

    message = str(caught.value)
    assert f"{first}train-images-idx3-ubyte.gz: HTTP 500" in message
    assert f"{second}train-images-idx3-ubyte.gz: HTTP 500" in message
    assert "--data-dir" in message
    assert "MLPBENCH_MIRRORS" in message
    assert _files_in(data_env) == []
    # Neither the data set's folder nor the cache root above it, which this call created.
    assert not data_env.exists(), "no empty cache folder is left behind"


def test_invalid_mirror_setting_creates_no_folder(data_env, tiny_idx, monkeypatch) -> None:
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=("http://127.0.0.1:9/",)))
    monkeypatch.setenv("MLPBENCH_MIRRORS", "127.0.0.1:9/tiny/")

    with pytest.raises(DataError, match="does not start with http"):
        load_dataset("tiny", progress=False)

    assert not data_env.exists()


def test_interrupted_download_leaves_no_empty_folder(data_env, tiny_idx, monkeypatch) -> None:
    import mlpbench.data.named as named

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(named, "download_file", interrupted)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=("http://127.0.0.1:9/",)))

    with pytest.raises(KeyboardInterrupt):
        load_dataset("tiny", progress=False)

    assert not data_env.exists()


def test_download_mirrors_from_environment(data_env, tiny_idx, server, monkeypatch) -> None:
    server.serve_files("/mirror/tiny", tiny_idx.gz)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(_refused_url(),)))
    monkeypatch.setenv("MLPBENCH_MIRRORS", f"{_refused_url()}, {server.url}/mirror/{{dataset}}")

    dataset = load_dataset("tiny", progress=False)

    assert dataset.n_classes == 3
    assert "/mirror/tiny/train-images-idx3-ubyte.gz" in server.requests


@pytest.mark.parametrize(
    ("mirror", "expected"),
    [
        ("{host}/tiny/", "does not start with http://, https://, ftp:// or file://"),
        ("http://{host}/{{datset}}/", "unknown placeholder {datset}; the only placeholder is {dataset}"),
    ],
    ids=["no-scheme", "misspelt-placeholder"],
)
def test_download_rejects_malformed_mirrors(data_env, tiny_idx, server, monkeypatch, mirror, expected):
    # Both URLs point at this server, so its empty request log shows that none was sent.
    server.serve_files("/tiny", tiny_idx.gz)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())
    monkeypatch.setenv("MLPBENCH_MIRRORS", mirror.format(host=server.url.removeprefix("http://")))

    with pytest.raises(DataError, match=f"^MLPBENCH_MIRRORS: .*{re.escape(expected)}"):
        load_dataset("tiny", progress=False)
    assert server.requests == []


def test_download_disabled_makes_no_request(data_env, tiny_idx, server, monkeypatch) -> None:
    mirror = server.serve_files("/tiny", tiny_idx.gz)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(mirror,)))

    with pytest.raises(DataError, match="Download is disabled"):
        load_dataset("tiny", download=False)

    assert server.requests == []


class _StallingHandler(http.server.BaseHTTPRequestHandler):
    """Announces 10,000 bytes, sends 100, then waits until the test releases it."""

    def do_GET(self) -> None:  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
        self.send_response(200)
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + bytes(98))
        self.wfile.flush()
        self.server.release.wait(timeout=60)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_sigterm_download_leaves_no_temp_file(data_env, tmp_path) -> None:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StallingHandler)
    httpd.release = threading.Event()
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    host, port = httpd.server_address[:2]
    env = {**os.environ, "MLPBENCH_MIRRORS": f"http://{host}:{port}/{{dataset}}/"}
    command = [sys.executable, "-m", "mlpbench", "-q", "train", "--dataset", "mnist", "--epochs", "1"]
    cache = data_env / "mnist"
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not [p for p in _files_in(cache) if ".tmp" in p.name] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _files_in(cache), "the download never started"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
        httpd.release.set()
        httpd.shutdown()
        httpd.server_close()

    assert process.returncode == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1] == "mlpbench train: terminated"
    assert _files_in(cache) == []


def test_download_names_read_timeout(data_env, tiny_idx, monkeypatch) -> None:
    import mlpbench.data.download

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StallingHandler)
    httpd.release = threading.Event()
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    host, port = httpd.server_address[:2]
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(mirrors=(f"http://{host}:{port}/",)))
    monkeypatch.setattr(mlpbench.data.download, "TIMEOUT_S", 0.3)
    try:
        with pytest.raises(DataError, match="no data for 0.3 s, so the download was abandoned"):
            load_dataset("tiny", progress=False)
    finally:
        httpd.release.set()
        httpd.shutdown()
        httpd.server_close()
    assert _files_in(data_env / "tiny") == []
