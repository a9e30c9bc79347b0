"""The WeChat mini-program server API: ``code2Session``, ``access_token``, ``getwxacodeunlimit``.

``WECHAT_API_BASE`` points at the real host in production and at a fake on loopback in
tests. ``session_key`` stays inside this module's ``Session`` object: it is never stored,
logged or returned to a client.

The ``access_token`` is shared by every process through Redis when ``REDIS_URL`` is set
(one refresh for the whole deployment, under a Redis lock), and cached per process
otherwise (the embedded single-process default).
"""
import json
import logging
import threading
import time
from dataclasses import dataclass

import requests
from flask import current_app

log = logging.getLogger(__name__)

TIMEOUT_S = 5
# Refresh this long before WeChat's expiry (7200 s): a token never dies mid-request.
TOKEN_REFRESH_MARGIN_S = 300
RETRYABLE = {-1}           # "system busy, try again"
INVALID_CODE = {40029, 40163}
RATE_LIMITED = {45011}


class WechatError(Exception):
    def __init__(self, errcode, errmsg):
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg

    @property
    def invalid_code(self):
        return self.errcode in INVALID_CODE

    @property
    def rate_limited(self):
        return self.errcode in RATE_LIMITED


@dataclass(frozen=True, repr=False)
class Session:
    openid: str
    unionid: str | None
    session_key: str

    def __repr__(self):
        return f"Session(openid={self.openid!r})"


def configured() -> bool:
    cfg = current_app.config
    return bool(cfg["WECHAT_APPID"] and cfg["WECHAT_SECRET"])


def _call(method, path, *, params=None, body=None, raw=False):
    base = current_app.config["WECHAT_API_BASE"]
    for attempt in range(2):
        try:
            response = requests.request(method, base + path, params=params, json=body, timeout=TIMEOUT_S)
        except requests.RequestException:
            raise WechatError(-2, "WeChat API unreachable") from None
        if raw and not response.headers.get("Content-Type", "").startswith(("application/json", "text/plain")):
            return response.content
        try:
            answer = response.json()
        except ValueError:
            raise WechatError(-2, f"WeChat API answered {response.status_code} without JSON") from None
        errcode = answer.get("errcode", 0)
        if errcode in RETRYABLE and attempt == 0:
            time.sleep(0.2)
            continue
        if errcode:
            raise WechatError(errcode, answer.get("errmsg", ""))
        return answer
    raise WechatError(-1, "system busy")


def code2session(code: str) -> Session:
    """Map a ``wx.login`` code to the user's openid (raises ``WechatError``)."""
    cfg = current_app.config
    if not configured():
        raise WechatError(-3, "WeChat is not configured (WECHAT_APPID, WECHAT_SECRET)")
    answer = _call("GET", "/sns/jscode2session", params={
        "appid": cfg["WECHAT_APPID"], "secret": cfg["WECHAT_SECRET"], "js_code": code,
        "grant_type": "authorization_code"})
    if not answer.get("openid"):
        raise WechatError(-4, "no openid in the answer")
    return Session(openid=answer["openid"], unionid=answer.get("unionid"), session_key=answer.get("session_key", ""))


class _ProcessCache:
    def __init__(self):
        self.lock = threading.Lock()
        self.value = None

    def get(self, appid, fetch):
        with self.lock:
            if self.value is None or self.value[0] != appid or time.time() > self.value[2]:
                token, expires_in = fetch()
                self.value = (appid, token, time.time() + expires_in - TOKEN_REFRESH_MARGIN_S)
            return self.value[1]


class _RedisCache:
    """One token for every process: readers share it, one refresher holds a short lock."""

    def __init__(self, url):
        import redis

        self.redis = redis.Redis.from_url(url)

    def get(self, appid, fetch):
        key = f"delivery_sign:wechat:access_token:{appid}"
        for _ in range(50):
            cached = self.redis.get(key)
            if cached:
                return json.loads(cached)["token"]
            if self.redis.set(key + ":lock", "1", nx=True, ex=10):
                try:
                    token, expires_in = fetch()
                    self.redis.set(key, json.dumps({"token": token}), ex=max(1, expires_in - TOKEN_REFRESH_MARGIN_S))
                    return token
                finally:
                    self.redis.delete(key + ":lock")
            time.sleep(0.1)   # another process is refreshing
        raise WechatError(-5, "access_token refresh did not finish")


_process_cache = _ProcessCache()


def _cache():
    url = current_app.config["REDIS_URL"]
    if not url:
        return _process_cache
    ext = current_app.extensions
    if "delivery_sign.wechat_cache" not in ext:
        ext["delivery_sign.wechat_cache"] = _RedisCache(url)
    return ext["delivery_sign.wechat_cache"]


def access_token() -> str:
    cfg = current_app.config

    def fetch():
        answer = _call("GET", "/cgi-bin/token", params={"grant_type": "client_credential",
                                                         "appid": cfg["WECHAT_APPID"], "secret": cfg["WECHAT_SECRET"]})
        return answer["access_token"], int(answer.get("expires_in", 7200))

    return _cache().get(cfg["WECHAT_APPID"], fetch)


def wxacode_unlimited(scene: str, page: str = "pages/sign/index", width: int = 430) -> bytes:
    """A mini-program code image for ``scene`` (≤ 32 visible characters)."""
    if not 1 <= len(scene) <= 32:
        raise ValueError("scene must be 1–32 characters")
    return _call("POST", f"/wxa/getwxacodeunlimit?access_token={access_token()}",
                 body={"scene": scene, "page": page, "width": width, "check_path": False}, raw=True)


def send_subscribe_message(touser: str, template_id: str, page: str, data: dict) -> None:
    """A subscription message (``subscribeMessage.send``) to a user who subscribed to ``template_id``."""
    _call("POST", f"/cgi-bin/message/subscribe/send?access_token={access_token()}",
          body={"touser": touser, "template_id": template_id, "page": page, "data": data,
                "miniprogram_state": "formal", "lang": "zh_CN"})
