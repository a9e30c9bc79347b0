"""A real HTTP receiver on 127.0.0.1 that fails, times out, hangs, drips, floods and recovers on cue.

Given the subscription's secrets, it verifies every delivery with the ``standardwebhooks``
package (PyPI), as an integrator's receiver would, and records the outcome.
"""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver:
    def __init__(self):
        self.script = []            # behaviours for the next requests: ok | fail | slow | hang | gone | drip | huge
        self.received = []          # every request: (behaviour, headers, body)
        self.accepted = []          # parsed bodies answered 2xx to a live client
        self.verified = []          # per request: True/False from standardwebhooks, when secrets are set
        self.secrets = []           # any of them may verify (a rotation's overlap)
        self.got_request = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.bytes_sent = 0         # of the answers (huge, drip)
        self.connections = []       # open keep-alive connections, cut on close()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with receiver.lock:
                    receiver.connections.append(self.connection)

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    behaviour = receiver.script.pop(0) if receiver.script else "ok"
                    receiver.received.append((behaviour, dict(self.headers), body))
                    if receiver.secrets:
                        receiver.verified.append(receiver.verify(dict(self.headers), body))
                receiver.got_request.set()
                if behaviour == "slow":
                    time.sleep(1.0)       # past the client's timeout
                    return self._answer(200, record=None)
                if behaviour == "hang":
                    receiver.release.wait(30)
                    return self._answer(200, record=None)
                if behaviour == "fail":
                    return self._answer(500, record=None)
                if behaviour == "gone":
                    return self._answer(410, record=None)
                if behaviour == "drip":
                    return self._drip()
                if behaviour == "huge":
                    return self._huge()
                return self._answer(204, record=json.loads(body))

            def _answer(self, status, record):
                # Recorded before the answer goes out: the client may return (and the test
                # look) before this thread runs again; taken back if the client is gone.
                if record is not None:
                    with receiver.lock:
                        receiver.accepted.append(record)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    if record is not None:
                        with receiver.lock:
                            receiver.accepted.remove(record)

            def _drip(self):
                # One header byte every 0.2 s for up to 30 s: every read returns in time, the whole never does.
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self.wfile.flush()
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline and not receiver.release.is_set():
                        self.wfile.write(b"X")
                        self.wfile.flush()
                        receiver.bytes_sent += 1
                        time.sleep(0.2)
                except OSError:
                    pass
                self.close_connection = True

            def _huge(self):
                # A 200 with a 400 MB body, sent as fast as the client takes it.
                chunk = b"0" * 65536
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", str(400 * 1024 * 1024))
                    self.end_headers()
                    for _ in range(400 * 16):
                        self.wfile.write(chunk)
                        receiver.bytes_sent += len(chunk)
                except OSError:
                    pass
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verify(self, headers, body) -> bool:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
                return True
            except WebhookVerificationError:
                continue
        return False

    def close(self):
        # Cut the kept-alive connections too: a later receiver given the same port must
        # not have its deliveries answered by this one's lingering handler threads.
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
