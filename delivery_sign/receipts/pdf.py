"""The receipt PDF (SPEC §6): drawn with reportlab, PAdES-signed with pyHanko.

``render`` draws the pages from plain data (no database, no Flask), ``sign`` appends
them to the original delivery note when there is one, embeds the canonical evidence
JSON as a file attachment and signs the whole file (PAdES B-B, B-T with a timestamper).
Chinese text uses reportlab's CID font STSong-Light, which every PDF reader resolves
without an embedded font file; through its UniGB-UCS2-H map it has the GB 2312 repertoire,
where a few Western marks (· — •) have no glyph and showed as "�": ``_gb_text`` swaps them
for their GB 2312 forms. Words (outcome, relation, anomalies, photo kinds) come from
core/vocabulary.py; times are shown in the tenant's zone, named on the page. Photo
thumbnails are JPEG and go in unchanged (DCTDecode): the PDF shows the very bytes whose
hash is in the evidence of the thumbnail.
"""
import functools
import io
import math
import weakref
from dataclasses import dataclass, field
from datetime import datetime

from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from ..core import vocabulary
from ..core.clock import local_text, zone_caption
from . import pdf_images

# JPEG and compressed streams as they are, not ASCII85-inflated by a quarter.
rl_config.useA85 = 0

FONT = "STSong-Light"
MONO = "Courier"
EVIDENCE_ATTACHMENT = "evidence.json"
QR_MASK = 2                      # ISO 18004 mask 2: every third column
SEAL_RED = Color(0.86, 0.08, 0.10, alpha=0.85)
GREY = HexColor("#666666")

# Marks outside GB 2312 (no glyph in STSong-Light's UniGB-UCS2-H) → the GB 2312 mark that
# looks the same. Applied to every string drawn in the CID font, names and notes included.
_GB_FORMS = str.maketrans({"\u00b7": "\u30fb", "\u2014": "\u2015", "\u2022": "\u25cf", "\u2013": "\uff0d",
                           "\u2212": "\uff0d", "\u00a0": " "})


def _gb_text(value) -> str:
    return str(value).translate(_GB_FORMS)


def _label(group: str, code) -> str:
    return vocabulary.label(group, code, "zh")


def handwriting_line(reading: dict) -> str:
    """The receipt's one line on handwriting recognition (issue 13)."""
    if reading["recognized"] is None:
        return "笔迹识别：不适用（非中文姓名）"
    if reading["recognized"]:
        return "笔迹识别：通过"
    failed = "、".join(f"第{i + 1}个字“{c['expected']}”" for i, c in enumerate(reading["chars"])
                      if c["status"] == "failed")
    return f"笔迹识别：未通过（{failed}未能识别，第{reading['attempts']}次书写后按宽松模式接受）"


@dataclass
class ReceiptDocument:
    """Everything the PDF shows, as plain data."""

    receipt_id: str
    evidence: dict
    evidence_json: bytes             # canonical JSON, embedded as the attachment
    evidence_hash: str
    verify_url: str
    signature_png: bytes | None      # None for a consented drop
    # The job passes the signature as drawn (signature_render.render_alpha) instead of a
    # PNG: encoding a PNG only to decode it here was a fifth of the render (issue 16).
    signature_alpha: object | None = None
    thumbnails: list = field(default_factory=list)   # JPEG bytes, in evidence order
    seal_png: bytes | None = None    # the tenant's uploaded seal
    auto_seal: bool = False          # stamp a seal (the uploaded one, else a drawn one)
    originals: list = field(default_factory=list)    # uploaded delivery notes, receipt goes after
    timezone: str = "Asia/Shanghai"  # the tenant's zone at rendering; the PDF names it


@functools.cache
def _register_font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


class _Page:
    """A cursor down an A4 page that starts a new page when it runs out."""

    W, H = A4
    M = 42

    def __init__(self, c: canvas.Canvas):
        self.c, self.y = c, self.H - self.M

    def need(self, height: float):
        if self.y - height < self.M:
            self.c.showPage()
            self.y = self.H - self.M

    def text(self, x, value, size=9.5, font=FONT, color=black, lead=None):
        self.need(size + 4)
        self.c.setFont(font, size)
        self.c.setFillColor(color)
        self.c.drawString(x, self.y - size, _gb_text(value) if font == FONT else str(value))
        self.y -= lead or size + 4.5

    def heading(self, value):
        self.y -= 6
        self.need(30)
        self.c.setStrokeColor(HexColor("#bbbbbb"))
        self.c.line(self.M, self.y, self.W - self.M, self.y)
        self.y -= 4
        self.text(self.M, value, size=11.5)


def _wrap(text: str, width_pt: float, size: float) -> list[str]:
    lines, line = [], ""
    for ch in text:
        if pdfmetrics.stringWidth(line + ch, FONT, size) > width_pt:
            lines.append(line)
            line = ch
        else:
            line += ch
    return lines + [line] if line else lines


def render(doc: ReceiptDocument) -> bytes:
    """The receipt pages, unsigned: one function per section, top to bottom."""
    _register_font()
    ev = doc.evidence
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    c.setTitle(f"{ev['doc_type']['name']} 签收回执 {doc.receipt_id}")
    c.setAuthor(ev["tenant"]["name"])
    c.setSubject(f"receipt:{doc.receipt_id} evidence-sha256:{doc.evidence_hash}")
    p = _Page(c)
    for section in (_title, _waybills, _outcome, _signature_and_seal, _photos, _location_and_times,
                    _anomalies, _consents, _evidence_hash):
        section(p, doc)
    c.showPage()
    c.save()
    return out.getvalue()


def _title(p: _Page, doc: ReceiptDocument) -> None:
    """Tenant, document type and receipt number, the verification QR top right."""
    c, ev, W, M = p.c, doc.evidence, p.W, p.M
    _qr(c, doc.verify_url, W - M - 86, p.H - M - 86, 86)
    c.setFont(FONT, 7)
    c.setFillColor(GREY)
    c.drawCentredString(W - M - 43, p.H - M - 95, "扫码验证本回执")
    p.text(M, ev["tenant"]["name"], size=12)
    p.text(M, f"{ev['doc_type']['name']} · 电子签收回执", size=17, lead=24)
    p.text(M, f"回执编号 {doc.receipt_id}", size=8.5, color=GREY)
    p.text(M, f"验证地址 {doc.verify_url}", size=8.5, color=GREY)
    p.y = min(p.y, p.H - M - 104)


def _waybills(p: _Page, doc: ReceiptDocument) -> None:
    c, M = p.c, p.M
    p.heading("运单与货物")
    cols = [M, M + 190, M + 300, M + 345, M + 390, M + 435]
    for waybill in doc.evidence["waybills"]:
        consignee = waybill["consignee"]
        p.text(M, f"运单号 {waybill['number']}" + (f"   外部单号 {waybill['external_ref']}" if waybill["external_ref"] else ""),
               size=10)
        p.text(M + 10, f"收货人 {consignee['name']}  {consignee['phone_masked'] or ''}  {consignee['address']}"[:80],
               size=8.5, color=GREY)
        p.need(14)
        c.setFont(FONT, 8.5)
        c.setFillColor(GREY)
        for x, label in zip(cols, ("商品", "编码", "发货", "实收", "破损", "备注")):
            c.drawString(x, p.y - 9, label)
        p.y -= 13
        for item in waybill["items"]:
            p.need(13)
            c.setFont(FONT, 9)
            c.setFillColor(black)
            values = (item["name"][:22], (item["sku"] or "")[:14], f"{item['qty']}{item['unit'] or ''}",
                      str(item["received_qty"]), str(item["damaged_qty"]), (item["note"] or "")[:14])
            for x, value in zip(cols, values):
                c.drawString(x, p.y - 9, _gb_text(value))
            p.y -= 13
        p.y -= 4


def _outcome(p: _Page, doc: ReceiptDocument) -> None:
    """The outcome, who signed, a drop's consent line, an assisted sign-off's code phone."""
    ev, W, M = doc.evidence, p.W, p.M
    p.heading("签收结果")
    signer = ev["signer"]
    p.text(M, f"结果：{_label('outcome', ev['outcome'])}", size=10.5)
    if ev.get("refuse_reason"):
        for line in _wrap(f"拒收原因：{ev['refuse_reason']}", W - 2 * M, 9.5):
            p.text(M, line)
    if signer is not None:
        p.text(M, f"签收人：{signer['name']}（{_label('relation', signer['relation'])}）"
                  + (f"  电话 {signer['phone_masked']}" if signer.get("phone_masked") else ""), size=10.5)
    if ev.get("drop"):
        # Issue 14: "放置于××驿站，经收货人同意（短信确认 12-01 18:02）".
        for line in _wrap(ev["drop"]["consent_line"], W - 2 * M, 10.5):
            p.text(M, line, size=10.5)
        p.text(M, f"放置人：{ev['drop']['by'].split(':', 1)[-1]}", size=9.5, color=GREY)
    if ev.get("assisted"):
        assisted = ev["assisted"]
        whose = {"consignee": "收货人手机", "receiver": "签收人手机"}.get(assisted.get("otp_to"), "手机")
        p.text(M, f"协助签收：在快递员设备上签收，验证码发送至{whose} {assisted.get('otp_phone_masked') or ''}",
               size=9.5)


def _signature_and_seal(p: _Page, doc: ReceiptDocument) -> None:
    """The signature, and the seal over its right-hand side as a stamped form would have it."""
    c, ev, M = p.c, doc.evidence, p.M
    p.need(110)
    c.setFont(FONT, 8.5)
    c.setFillColor(GREY)
    if doc.signature_alpha is not None:
        from ..evidence.signature_render import INK

        sig = pdf_images.from_alpha(doc.signature_alpha, INK)
    elif doc.signature_png is not None:
        sig = pdf_images.from_png(doc.signature_png)
    else:
        sig = None
    if sig is not None:
        scale = min(220 / sig.width, 95 / sig.height)
        c.drawString(M, p.y - 10, "手写签名")
        pdf_images.draw(c, sig, M + 50, p.y - 100, sig.width * scale, sig.height * scale)
    if doc.auto_seal:
        if doc.seal_png:
            seal = pdf_images.seal_from_png(doc.seal_png)
            scale = min(110 / seal.width, 110 / seal.height)   # fitted and centred in a 110 pt box
            w, h = seal.width * scale, seal.height * scale
            pdf_images.draw(c, seal, M + 300 + (110 - w) / 2, p.y - 110 + (110 - h) / 2, w, h)
        else:
            _drawn_seal(c, ev["tenant"]["name"], M + 355, p.y - 55, 52)
    p.y -= 108
    if ev["checks"].get("handwriting"):
        p.text(M, handwriting_line(ev["checks"]["handwriting"]), size=9.5)


def _photos(p: _Page, doc: ReceiptDocument) -> None:
    """The thumbnails in rows, then one line per photo: kind, size, who took it, its hash."""
    if not doc.thumbnails:
        return
    c, W, M = p.c, p.W, p.M
    p.heading("现场照片")
    x, row_h = M, 0
    for jpeg in doc.thumbnails:
        image = pdf_images.from_jpeg(jpeg)
        if image is None:
            image = ImageReader(io.BytesIO(jpeg))
            iw, ih = image.getSize()
        else:
            iw, ih = image.width, image.height
        scale = min(118 / iw, 118 / ih)
        w, h = iw * scale, ih * scale
        if x + w > W - M:
            p.y -= row_h + 6
            x, row_h = M, 0
        p.need(h + 4)
        if isinstance(image, pdf_images.FlateImage):
            pdf_images.draw(c, image, x, p.y - h, w, h)
        else:
            c.drawImage(image, x, p.y - h, w, h)
        x, row_h = x + w + 8, max(row_h, h)
    p.y -= row_h + 6
    for i, photo in enumerate(doc.evidence["photos"], start=1):
        p.text(M, f"照片 {i}：{_label('photo_kind', photo['kind'])}，{photo['width']}×{photo['height']} 像素，"
                  + _photo_taker(photo, doc.timezone), size=7.5, color=GREY, lead=10)
        p.text(M + 10, f"SHA-256 {photo['sha256']}", size=7, font=MONO, color=GREY, lead=10)


def _location_and_times(p: _Page, doc: ReceiptDocument) -> None:
    ev, M, zone = doc.evidence, p.M, doc.timezone

    def when(value) -> str:
        return local_text(value, zone) or "—"

    p.heading("位置与时间")
    location = ev["location"]
    raw = location.get("raw")
    if raw:
        wgs = location.get("wgs84") or {}
        p.text(M, f"上报位置 {raw['lat']:.6f}, {raw['lng']:.6f}（{raw.get('coord_system', '')}，精度 "
                  f"{raw.get('accuracy', '—')} 米，来源 {raw.get('source', '—')}）")
        if wgs:
            p.text(M, f"WGS-84 {wgs.get('lat', 0):.6f}, {wgs.get('lng', 0):.6f}")
    elif location.get("purged"):
        p.text(M, "位置原始数据已按保存期限删除（保留哈希）")
    else:
        p.text(M, "未提供位置")
    if location.get("distance_to_consignee_m") is not None:
        p.text(M, f"距收货地址 {location['distance_to_consignee_m']:.0f} 米")
    if location.get("distance_to_courier_m") is not None:
        p.text(M, f"距快递员 {location['distance_to_courier_m']:.0f} 米")
    times, client = ev["times"], ev["client"]
    submitted = datetime.fromisoformat(times["submitted_at"].replace("Z", "+00:00"))
    p.text(M, f"时间均为 {zone_caption(zone, at=submitted)}（UTC 时间见附件 evidence.json）", size=8.5, color=GREY)
    p.text(M, f"服务器签收时间 {when(times['submitted_at'])}")
    if times.get("link_created_at"):
        p.text(M, f"签收码生成 {when(times['link_created_at'])}   打开 {when(times.get('link_opened_at'))}")
    p.text(M, f"客户端声明时间 {client.get('time') or '—'}   平台 {client.get('platform') or '—'}")


def _anomalies(p: _Page, doc: ReceiptDocument) -> None:
    p.heading("异常")
    for code in doc.evidence["anomalies"]:
        p.text(p.M, f"● {_label('anomaly', code)}（{code}）")
    if not doc.evidence["anomalies"]:
        p.text(p.M, "无")


def _consents(p: _Page, doc: ReceiptDocument) -> None:
    p.heading("个人信息告知与同意")
    p.text(p.M, _consent_line(doc.evidence.get("consents")))


def _evidence_hash(p: _Page, doc: ReceiptDocument) -> None:
    M = p.M
    p.heading("存证")
    p.text(M, "证据 JSON（附件 evidence.json）SHA-256：", size=9)
    p.text(M, doc.evidence_hash, size=9, font=MONO)
    p.text(M, "本回执由平台以数字签名保护，任何改动都会使签名失效；扫描右上角二维码或上传本文件验证。",
           size=8.5, color=GREY)


def _qr(c, value: str, x: float, y: float, size: float):
    """The QR as one filled path of row runs: reportlab's widget draws a node per module,
    which was half the render time."""
    import qrcode

    # A fixed mask: choosing the "best" of eight took 13 ms of scoring per receipt, and
    # every reader decodes any mask; a URL of this length scans the same either way.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, mask_pattern=QR_MASK)
    code.add_data(value)
    code.make(fit=True)
    matrix = code.get_matrix()
    cell = size / len(matrix)
    runs = []
    for row, bits in enumerate(matrix):
        col = 0
        while col < len(bits):
            if bits[col]:
                start = col
                while col < len(bits) and bits[col]:
                    col += 1
                runs.append((start, row, col - start))
            col += 1
    c.saveState()
    c.setFillColor(black)
    # In module units, rows counted down from the top: integer rectangles, written at once
    # (reportlab formats each float of a path in Python, without its C accelerator).
    c.transform(cell, 0, 0, -cell, x, y + size)
    pdf_images.fill_rects(c, runs)
    c.restoreState()


def _drawn_seal(c, name: str, cx: float, cy: float, r: float):
    """A round red company seal: double ring, a star, the name along the top arc."""
    c.saveState()
    c.setStrokeColor(SEAL_RED)
    c.setFillColor(SEAL_RED)
    c.setLineWidth(2.6)
    c.circle(cx, cy, r, stroke=1, fill=0)
    c.setLineWidth(0.8)
    c.circle(cx, cy, r - 4, stroke=1, fill=0)
    star = c.beginPath()
    for i in range(10):
        radius = r * (0.28 if i % 2 == 0 else 0.11)
        angle = math.pi / 2 + i * math.pi / 5
        px, py = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        star.moveTo(px, py) if i == 0 else star.lineTo(px, py)
    star.close()
    c.drawPath(star, stroke=0, fill=1)
    chars = list(name[:16]) or ["章"]
    size = max(7.0, min(12.5, 2 * math.pi * r * 0.62 / max(len(chars), 1) * 0.92))
    span = min(math.radians(250), len(chars) * size * 1.05 / (r - 14))
    c.setFont(FONT, size)
    for i, ch in enumerate(chars):
        angle = math.pi / 2 + span / 2 - (span * (i + 0.5) / len(chars))
        c.saveState()
        c.translate(cx + (r - 9 - size * 0.55) * math.cos(angle), cy + (r - 9 - size * 0.55) * math.sin(angle))
        c.rotate(math.degrees(angle) - 90)
        c.drawCentredString(0, -size * 0.35, ch)
        c.restoreState()
    c.setFont(FONT, 7.5)
    c.drawCentredString(cx, cy - r * 0.55, "签收专用章")
    c.restoreState()


def _after_originals(originals: list, receipt_pages: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    from .active_content import strip_active_content

    writer = PdfWriter()
    for original in originals:
        # The note's scripts, launch actions and embedded files stay out of the receipt.
        writer.append(PdfReader(io.BytesIO(strip_active_content(original)[0])))
    writer.append(PdfReader(io.BytesIO(receipt_pages)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# pyHanko sizes the signature's /Contents by signing a dummy CMS first (half of the
# signing time, asn1crypto serialisation). The size depends only on the signer's
# certificates and on whether a timestamp is added, so it is measured on a signer's first
# receipt (pyHanko's own estimate, with its 50 % margin, read back from the /ByteRange)
# and reused after that.
_reserved: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _reserved_size(signed: bytes) -> int:
    """The hex /Contents length pyHanko allocated, read from the signature's /ByteRange
    by pyHanko's own reader (the gap between the two signed ranges is ``<`` hex ``>``)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    signature = PdfFileReader(io.BytesIO(signed), strict=False).embedded_signatures[-1]
    _, first_length, second_start, _ = (int(n) for n in signature.sig_object["/ByteRange"])
    return second_start - first_length - 2


def sign(doc: ReceiptDocument, signer, timestamper=None) -> bytes:
    """The final receipt: pages (after the original note), evidence attachment, PAdES signature."""
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.general import SigningError

    pages = render(doc)
    if doc.originals:
        pages = _after_originals(doc.originals, pages)
    writer = IncrementalPdfFileWriter(io.BytesIO(pages), strict=False)
    embed.embed_file(writer, embed.FileSpec(
        file_spec_string=EVIDENCE_ATTACHMENT, file_name=EVIDENCE_ATTACHMENT,
        embedded_data=embed.EmbeddedFileObject.from_file_data(writer, doc.evidence_json,
                                                              mime_type="application/json"),
        description=f"Canonical evidence of receipt {doc.receipt_id} (SHA-256 {doc.evidence_hash})"))
    meta = signers.PdfSignatureMetadata(
        field_name="ReceiptSignature", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=f"签收回执 {doc.receipt_id}", location="delivery_sign")
    sizes = _reserved.setdefault(signer, {})
    size_key = getattr(timestamper, "url", None) if timestamper is not None else None
    reserved = sizes.get(size_key)
    out = io.BytesIO()
    try:
        signers.PdfSigner(meta, signer=signer, timestamper=timestamper).sign_pdf(
            writer, output=out, bytes_reserved=reserved)
    except SigningError:
        if reserved is None:
            raise
        sizes.pop(size_key, None)   # the space was too small (a TSA's tokens grew): measure again
        return sign(doc, signer, timestamper)
    data = out.getvalue()
    if size_key not in sizes:
        sizes[size_key] = _reserved_size(data)
    return data


def _photo_taker(photo: dict, zone: str) -> str:
    """Who took a photo and when (issue 12), in the tenant's zone; receipts from before say
    only that the signer uploaded it."""
    taker = photo.get("taken_by") or {"party": "recipient"}
    who = _label("taken_by", taker["party"])
    if taker["party"] == "courier" and taker.get("user"):
        who += f" {taker['user']}"
    line = f"拍摄：{who}，上传于 {local_text(photo.get('taken_at'), zone) or '—'}"
    declared = photo.get("declared_by_client") or {}
    if declared.get("taken_at"):
        line += f"；手机声明拍摄时间 {declared['taken_at']}{declared.get('offset') or ''}（客户端声明）"
    return line


def _consent_line(consents: dict | None) -> str:
    """Issue 19: which notice the signer was shown and what they agreed to."""
    if not consents or not consents.get("recorded"):
        return "签收客户端未记录同意（早于隐私告知的客户端）"
    yes = lambda given: "同意" if given else "不同意"  # noqa: E731
    line = (f"告知版本 {consents['notice_version']}；手写签名采集：{yes(consents['handwriting'])}；"
            f"位置采集：{yes(consents['location'])}")
    if consents.get("location_dropped"):
        line += "（未经同意上传的位置已丢弃）"
    return line
