"""Fixtures shared by the data tests."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1 (an ephemeral port) for the duration of a test."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
