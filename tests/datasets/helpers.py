"""Helpers shared by the data-set tests."""
import os

SHARED = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared/data"
DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"


def closed_port_url():
    """A URL on a loopback port nobody listens on."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/nothing.bin"
