"""The public verification page ``/v/<receipt_id>`` (SPEC §4): what the receipt's QR opens.

It shows the facts a paper copy can be matched against (no personal data), and checks a
PDF uploaded to it on the server (the same check as ``POST /api/v1/verify``), answering
on the page in words: valid and signed by whom and when, or what does not match. A plain
form post, so it works without JavaScript on any phone browser.
"""
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, render_template, request

from ..core import vocabulary
from ..core.clock import local_text, zone_caption
from ..extensions import limiter
from .verification import public_view, verify_pdf

bp = Blueprint("receipt_pages", __name__)


@dataclass(frozen=True)
class Verdict:
    """The outcome of an uploaded PDF as a person reads it."""

    ok: bool
    title: str
    lines: tuple[str, ...]


def _verdict(receipt_id: str, result: dict, zone: str) -> Verdict:
    if result["receipt_id"] is None:
        return Verdict(False, "✘ 这不是本平台签发的回执", (
            "文件中没有平台存证的证据附件（evidence.json），或它指向的回执不存在。",
            "请确认上传的是从平台下载或收到的签收回执 PDF。"))
    if result["receipt_id"] != receipt_id:
        return Verdict(False, "✘ 这份 PDF 是另一张回执", (
            f"它的回执编号是 {result['receipt_id']}，不是本页的 {receipt_id}。",
            f"请打开 /v/{result['receipt_id']} 核对。"))
    signed = []
    if result["signed_by"]:
        signed.append(f"签名人（证书）：{result['signed_by']}")
    if result["signing_time"]:
        signed.append(f"签名时间：{local_text(result['signing_time'], zone)}（{zone_caption(zone, at=result['signing_time'])}）")
    if result["pdf_signature_valid"] and result["evidence_hash_matches"]:
        return Verdict(True, "✔ 验证通过：这是平台签发的原始回执", (
            "数字签名完好，覆盖整个文件，使用的是该企业的证书。",
            "文件与平台签发的完全一致，内嵌证据与平台存证一致。", *signed))
    problems = []
    if not result["signature_intact"]:
        problems.append("数字签名无效：文件在签名之后被改动过，或签名不是该企业的证书所做。")
    elif not result["file_matches"]:
        problems.append("签名本身完好，但文件与平台签发的不是同一份（签名后又被追加或另存过）。")
    if not result["evidence_hash_matches"]:
        problems.append("内嵌的证据附件与平台存证不一致：证据内容被改动过。")
    return Verdict(False, "✘ 验证未通过", (*problems, *signed))


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _render(view: dict, verdict: Verdict | None = None, error: str = "", status: int = 200):
    zone = view["timezone"]
    html = render_template(
        "verify.html", receipt=view, verdict=verdict, error=error,
        outcome_label=vocabulary.label("outcome", view["outcome"]),
        relation_label=vocabulary.label("relation", view["relation"]),
        signed_at=local_text(view["signed_at"], zone), zone=zone_caption(zone, at=_instant(view["signed_at"])))
    return html, status, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


@bp.route("/v/<receipt_id>", methods=["GET"])
def verify_page(receipt_id):
    view = public_view(receipt_id)
    if view is None:
        abort(404)
    return _render(view)


@bp.route("/v/<receipt_id>", methods=["POST"])
@limiter.limit("60 per minute", scope="verify")
def verify_upload(receipt_id):
    """The page again, with the verdict on the uploaded PDF (or what was wrong with the upload)."""
    view = public_view(receipt_id)
    if view is None:
        abort(404)
    upload = request.files.get("file")
    data = upload.read() if upload is not None else b""
    if not data:
        return _render(view, error="请选择要验证的回执 PDF 文件。", status=422)
    if not data.startswith(b"%PDF-"):
        return _render(view, error="上传的文件不是 PDF，请选择签收回执 PDF。", status=422)
    return _render(view, verdict=_verdict(receipt_id, verify_pdf(data), view["timezone"]))
