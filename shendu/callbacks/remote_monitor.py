"""``RemoteMonitor``: POST each epoch's logs to a server (standard library HTTP, no requests)."""
import json
import warnings

import numpy as np

from .callback import Callback

TIMEOUT_S = 10


class RemoteMonitor(Callback):
    """Send ``{"epoch": epoch, **logs}`` to ``root + path`` at the end of every epoch.

    Args:
        root: the server's URL, e.g. ``"http://localhost:9000"``.
        path: the path the events are POSTed to.
        field: with ``send_as_json=False``, the form field that carries the JSON text
            (the body is ``field=<json>``, form-encoded).
        headers: extra HTTP headers (a dict).
        send_as_json: POST the JSON itself as the body (``Content-Type: application/json``).

    A server that cannot be reached gives a warning, never an error: training goes on.
    """

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        self.root, self.path, self.field = root, path, field
        self.headers, self.send_as_json = headers, send_as_json

    def on_epoch_end(self, epoch, logs=None):
        import urllib.error  # the HTTP stack only once a monitor sends
        import urllib.parse
        import urllib.request
        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            send[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) else v
        if self.send_as_json:
            body, content_type = json.dumps(send).encode("utf-8"), "application/json"
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("ascii")
            content_type = "application/x-www-form-urlencoded"
        headers = {"Content-Type": content_type, **(self.headers or {})}
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}",
                          stacklevel=2)
