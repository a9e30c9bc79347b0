"""A real HTTP receiver on 127.0.0.1 that fails, times out, hangs and recovers on cue."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self):
        self.script = []            # behaviours for the next requests: ok | fail | slow | hang
        self.received = []          # every request: (behaviour, headers, body)
        self.accepted = []          # parsed bodies answered 2xx to a live client
        self.got_request = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    behaviour = receiver.script.pop(0) if receiver.script else "ok"
                    receiver.received.append((behaviour, dict(self.headers), body))
                receiver.got_request.set()
                if behaviour == "slow":
                    time.sleep(1.0)       # past the client's timeout
                    return self._answer(200, record=None)
                if behaviour == "hang":
                    receiver.release.wait(30)
                    return self._answer(200, record=None)
                if behaviour == "fail":
                    return self._answer(500, record=None)
                return self._answer(204, record=json.loads(body))

            def _answer(self, status, record):
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    if record is not None:
                        with receiver.lock:
                            receiver.accepted.append(record)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
