"""The readable form of a subject export (issue 19.3): an A4 PDF a person can read.

reportlab's platypus lays it out (paragraphs wrap Chinese text with ``wordWrap="CJK"``);
the data is the JSON export's, so the two never say different things.
"""
import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
from xml.sax.saxutils import escape

from ..core.vocabulary import label

FONT = "STSong-Light"
PART_LABELS = {"strokes": "原始笔迹", "photos": "照片原图", "location": "精确位置", "ip": "IP 地址"}


def _styles():
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=14, wordWrap="CJK")
    return {"title": ParagraphStyle("title", parent=body, fontSize=15, leading=22),
            "h": ParagraphStyle("h", parent=body, fontSize=11.5, leading=18, spaceBefore=8), "body": body,
            "small": ParagraphStyle("small", parent=body, fontSize=7.5, leading=10)}


def render_export(export: dict, tenant_name: str) -> bytes:
    s = _styles()
    p = lambda text, style="body": Paragraph(escape(str(text)), s[style])  # noqa: E731
    story = [p(f"个人信息查询结果：{export['phone_masked']}", "title"),
             p(f"个人信息处理者：{tenant_name}    导出时间：{export['exported_at']} (UTC)"),
             p("下列为本平台以该手机号保存的全部个人信息。IP 地址已部分隐去。"), Spacer(1, 6)]
    story.append(p(f"运单（{len(export['waybills'])}）", "h"))
    for w in export["waybills"]:
        c = w["consignee"]
        story.append(p(f"{w['number']}  状态 {w['status']}  创建 {w['created_at']}"))
        story.append(p(f"收货人 {c['name']}  电话 {c['phone']}  地址 {c['address']}"))
        story.append(p("货物：" + "；".join(f"{i['name']} × {i['qty']:g}{i['unit'] or ''}" for i in w["items"])))
        if w["hold"]:
            story.append(p(f"暂不能删除：{ {'disputed': '存在争议', 'in_delivery': '尚在配送'}[w['hold']] }"))
    story.append(p(f"签收回执（{len(export['receipts'])}）", "h"))
    for r in export["receipts"]:
        ev = r["evidence"]
        story.append(p(f"回执 {r['receipt_id']}  签收 {r['created_at']}  结果 {ev.get('outcome')}"))
        signer = ev.get("signer") or {}
        story.append(p(f"签收人 {signer.get('name')}（{signer.get('relation')}）  电话 {signer.get('phone_masked') or '—'}"))
        loc = (ev.get("location") or {}).get("raw")
        story.append(p(f"位置 {loc['lat']:.5f}, {loc['lng']:.5f}" if loc else "位置：未保存或已删除"))
        client = ev.get("client") or {}
        story.append(p(f"设备 {client.get('platform') or '—'}  {client.get('user_agent') or ''}  IP {client.get('ip') or '—'}"))
        story.append(p("保存：" + "，".join(
            f"{PART_LABELS[k]} {'已删除' if v == 'purged' else '保存 ' + str(r['retention_days'][k]) + ' 天'}"
            for k, v in r["parts"].items()) + f"，回执保存 {r['retention_days']['receipt']} 天"))
        consents = ev.get("consents") or {}
        if consents.get("recorded"):
            story.append(p(f"告知版本 {consents['notice_version']}  手写同意 {consents['handwriting']}  "
                           f"位置同意 {consents['location']}"))
        story.append(p(f"证据哈希 {r['evidence_hash']}", "small"))
    standing = export.get("standing_consents") or []
    story.append(p(f"长期放置授权（{len(standing)}）", "h"))
    for c in standing:
        state = f"已撤销 {c['revoked_at']}" if c["revoked_at"] else f"有效至 {c['expires_at']}"
        story.append(p(f"{c['address']}  {label('drop_place', c['choice'])}{'（' + c['place'] + '）' if c['place'] else ''}  "
                       f"授权 {c['created_at']}  {state}"))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title="个人信息导出", leftMargin=42, rightMargin=42,
                      topMargin=42, bottomMargin=42).build(story)
    return out.getvalue()
