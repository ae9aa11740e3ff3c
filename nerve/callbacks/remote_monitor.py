"""``RemoteMonitor``: POST each epoch's logs to a server (Keras 3 ``keras.callbacks.RemoteMonitor``), with the
standard library's urllib instead of Keras' ``requests``.

At each epoch end the body is ``{"epoch": epoch, **logs}`` as JSON: sent as ``application/json`` when
``send_as_json=True``, else as a form (``application/x-www-form-urlencoded``) whose field ``field`` holds the
JSON string, to ``root + path``. A server that cannot be reached only warns, as in Keras; training goes on.
"""
import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from .. import backend
from ..saving.registry import register
from .callback import Callback


@register("callbacks")
class RemoteMonitor(Callback):
    timeout = 10.0  # seconds per request, so that a server that does not answer cannot stall training

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data", headers=None,
                 send_as_json=False):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def on_epoch_end(self, epoch, logs=None):
        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            # NumPy (and device) scalars are not JSON types: send their Python value
            send[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) or backend.is_array(v) else v
        if self.send_as_json:
            body, content_type = json.dumps(send).encode(), "application/json"
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode()
            content_type = "application/x-www-form-urlencoded"
        headers = {"Content-Type": content_type, **(self.headers or {})}
        url = self.root + self.path
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as e:  # reached, but refused (requests would not raise: Keras is silent)
            warnings.warn(f"RemoteMonitor: the server at {url} answered HTTP {e.code} {e.reason}", stacklevel=2)
        except (urllib.error.URLError, OSError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)
