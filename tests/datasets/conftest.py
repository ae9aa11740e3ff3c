"""Fixtures for the data-set tests: an isolated NERVE_HOME, no system locations, and a loopback HTTP server."""
import http.server
import threading
import time

import pytest

from nerve.datasets import _fetch



@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh NERVE_HOME, no NERVE_DATA_DIR and no system locations; returns the home path."""
    h = tmp_path / "nerve_home"
    monkeypatch.setenv("NERVE_HOME", str(h))
    monkeypatch.delenv("NERVE_DATA_DIR", raising=False)
    monkeypatch.setattr(_fetch, "SYSTEM_DIRS", {})
    monkeypatch.setattr(_fetch, "DOWNLOAD_TIMEOUT", 5.0)
    return h


class _Handler(http.server.BaseHTTPRequestHandler):
    routes = {}

    def do_GET(self):  # noqa: N802
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        body, declared = route
        self.send_response(200)
        self.send_header("Content-Length", str(declared if declared is not None else len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A loopback HTTP server in a thread; ``server.add(path, body, declared_length=None)`` serves ``body``
    at ``server.url + path`` (a declared length larger than the body simulates a truncated download). It
    stops when the test ends, and by itself after 60 s in any case."""
    routes = {}
    handler = type("H", (_Handler,), {"routes": routes})
    httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
    httpd.timeout = 0.1
    stop = threading.Event()
    deadline = time.monotonic() + 60

    def loop():
        while not stop.is_set() and time.monotonic() < deadline:
            httpd.handle_request()

    t = threading.Thread(target=loop, daemon=True)
    t.start()

    class S:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"

        @staticmethod
        def add(path, body, declared_length=None):
            routes[path] = (body, declared_length)
            return S.url + path
    yield S
    stop.set()
    t.join(5)
    httpd.server_close()
