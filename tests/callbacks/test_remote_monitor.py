"""RemoteMonitor, against a local HTTP server on 127.0.0.1 started by the test."""
import http.server
import json
import threading
import urllib.parse

import numpy as np
import pytest

import shendu
from shendu.callbacks import RemoteMonitor


@pytest.fixture
def server():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], self.headers.get("X-Run"),
                             body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()
    httpd.server_close()


def _fit(callback):
    model = shendu.Sequential([shendu.Input((2,)), shendu.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = np.ones((8, 2), np.float32)
    return model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[callback])


def test_form_encoded_events(server):
    url, received = server
    history = _fit(RemoteMonitor(root=url, headers={"X-Run": "r1"}))
    assert len(received) == 2
    path, ctype, run, body = received[1]
    assert path == "/publish/epoch/end/" and ctype == "application/x-www-form-urlencoded"
    assert run == "r1"
    event = json.loads(urllib.parse.parse_qs(body.decode())["data"][0])
    assert event["epoch"] == 1 and np.isclose(event["loss"], history.history["loss"][1])
    assert "mae" in event


def test_json_events(server):
    url, received = server
    _fit(RemoteMonitor(root=url, path="/ev", send_as_json=True))
    path, ctype, _, body = received[0]
    assert path == "/ev" and ctype == "application/json" and json.loads(body)["epoch"] == 0


def test_unreachable_server_warns_and_training_goes_on():
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server"):
        history = _fit(RemoteMonitor(root="http://127.0.0.1:1"))
    assert len(history.history["loss"]) == 2
