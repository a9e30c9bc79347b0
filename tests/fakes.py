"""Fakes of outside servers, as real HTTP servers on loopback: WeChat (login, codes, subscription
messages) and an SMS provider."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeServer:
    """A loopback HTTP server whose answers a test scripts; it records every request."""

    def __init__(self, handle):
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = {"method": self.command, "path": url.path, "query": {k: v[0] for k, v in
                                                                                  parse_qs(url.query).items()},
                           "headers": dict(self.headers), "body": body}
                outer.requests.append(request)
                status, headers, payload = handle(request)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def json_answer(status, body):
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


class FakeWechat(FakeServer):
    """``code2Session`` maps codes to openids from ``self.openids``; errors are scripted by code."""

    PNG = b"\x89PNG\r\n\x1a\nfake-wxacode"

    def __init__(self):
        self.openids = {}
        self.errors = {}          # code -> list of errcodes to answer first
        self.tokens_issued = 0
        super().__init__(self._handle)

    def _handle(self, request):
        if request["path"] == "/sns/jscode2session":
            code = request["query"].get("js_code")
            queued = self.errors.get(code)
            if queued:
                return json_answer(200, {"errcode": queued.pop(0), "errmsg": "scripted"})
            if code not in self.openids:
                return json_answer(200, {"errcode": 40029, "errmsg": "invalid code"})
            return json_answer(200, {"openid": self.openids[code], "session_key": "SECRET-SESSION-KEY"})
        if request["path"] == "/cgi-bin/token":
            self.tokens_issued += 1
            return json_answer(200, {"access_token": f"token-{self.tokens_issued}", "expires_in": 7200})
        if request["path"] == "/wxa/getwxacodeunlimit":
            if request["query"].get("access_token") != f"token-{self.tokens_issued}":
                return json_answer(200, {"errcode": 40001, "errmsg": "invalid credential"})
            return 200, {"Content-Type": "image/png"}, self.PNG
        return json_answer(404, {"errcode": 404})


class SubscribingWechat(FakeWechat):
    """The fake WeChat, plus ``subscribeMessage.send`` (a user who never subscribed gets 43101)."""

    def __init__(self):
        self.subscribed = set()
        self.messages = []
        super().__init__()

    def _handle(self, request):
        if request["path"] == "/cgi-bin/message/subscribe/send":
            if request["query"].get("access_token") != f"token-{self.tokens_issued}":
                return json_answer(200, {"errcode": 40001, "errmsg": "invalid credential"})
            message = json.loads(request["body"])
            if message["touser"] not in self.subscribed:
                return json_answer(200, {"errcode": 43101, "errmsg": "user refuse to accept the msg"})
            self.messages.append(message)
            return json_answer(200, {"errcode": 0, "errmsg": "ok"})
        return super()._handle(request)


class FakeSmsProvider(FakeServer):
    def __init__(self, fail_with=None):
        self.fail_with = fail_with
        super().__init__(self._handle)

    def _handle(self, request):
        if self.fail_with:
            return json_answer(self.fail_with, {"error": "scripted failure"})
        return json_answer(200, {"ok": True})
