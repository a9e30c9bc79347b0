"""Receipt PDF: render + PAdES-sign one receipt with two photo thumbnails, signature and seal.

Prints p50/p95 per receipt on one core (target ≤ 80 ms p50) and receipts/s of one
sequential worker (target ≥ 12). Usage: ``python bench/bench_pdf.py [-n 200]``.
"""
import argparse
import io
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import ROOT, summary_ms  # noqa: E402


def _document():
    from PIL import Image, ImageDraw

    from delivery_sign.core.audit import canonical_json
    from delivery_sign.evidence.signature_render import render_png
    from delivery_sign.evidence.strokes import parse_signature
    from delivery_sign.receipts import evidence_doc as doc
    from delivery_sign.receipts.pdf import ReceiptDocument

    with open(os.path.join(ROOT, "tests", "data", "signatures", "genuine.json"), encoding="utf-8") as fh:
        sample = json.load(fh)[0]
    thumbs = []
    for seed in (1, 2):
        image = Image.new("RGB", (320, 240), (30 * seed, 120, 200))
        ImageDraw.Draw(image).ellipse((40, 40, 200, 200), fill=(250, 200, 40))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80)
        thumbs.append(out.getvalue())
    # Built through the declaration (receipts/evidence_doc.py), so the bench draws a whole
    # document of today's shape: a partial sign-off by a family member with two photos.
    photo = {"mime": "image/jpeg", "size": 200_000, "exif": {}, "checks": {},
             "taken_by": {"party": "recipient", "user": None}, "taken_at": "2026-01-01T07:59:50.000Z",
             "declared_by_client": None}
    evidence = doc.as_json(doc.EvidenceDocument(
        receipt_id="b" * 32, receipt_code="BENCH234", tenant=doc.Tenant(slug="bench", name="压测物流有限公司"),
        doc_type=doc.DocType(code="default", name="送货签收单"), policy={"auto_seal": True},
        submission_id="bench-submission", outcome="partial", refuse_reason=None,
        waybills=[doc.Waybill(number="SF1234567890", external_ref="PO-1", consignee=doc.Consignee(
            name="李娜", phone_masked="138****8000", address="上海市浦东新区世纪大道100号"),
            items=[doc.Item(line=1, sku="SOFA-3", name="三人位沙发", unit="件", qty=1, received_qty=1,
                            damaged_qty=0, note=""),
                   doc.Item(line=2, sku="CHR-01", name="餐椅", unit="把", qty=4, received_qty=3,
                            damaged_qty=1, note="一把腿断")])],
        signer=doc.Signer(name="李娜", relation="family", phone_masked=None, wechat_openid=None, name_from="typed"),
        signature=doc.Signature(strokes=sample["strokes"], canvas=sample["canvas"], metrics={}),
        photos=[doc.Photo(photo_id=f"p{i}", kind="goods", sha256="0" * 64, width=1600, height=1200, **photo)
                for i in range(2)],
        location=doc.Location(raw={"lat": 31.2304, "lng": 121.4737, "accuracy": 15, "coord_system": "gcj02",
                                   "source": "gps"},
                              wgs84={"lat": 31.2324, "lng": 121.4692}, distance_to_consignee_m=12.3,
                              distance_to_courier_m=4.0, courier_at_link_time=None),
        checks=doc.Checks(signature={}, replay_of=None, otp_verified=False, location={}, photos={}),
        anomalies=["signer_not_consignee", "partial_delivery"],
        consents=doc.SignOffConsents(recorded=True, notice_version=1, handwriting=True, location=True,
                                     location_dropped=False),
        client=doc.Client(platform="h5", user_agent="bench", time="2026-01-01T08:00:00Z", ip="127.0.0.1",
                          first_stroke_time_ms=0),
        times=doc.Times(submitted_at="2026-01-01T08:00:01.000Z", link_created_at="2026-01-01T07:59:00.000Z",
                        link_opened_at="2026-01-01T07:59:30.000Z", otp_verified_at=None),
    ))
    signature = parse_signature({"strokes": sample["strokes"], "canvas": sample["canvas"]})
    return ReceiptDocument(receipt_id="b" * 32, evidence=evidence, evidence_json=canonical_json(evidence),
                           evidence_hash="e" * 64, verify_url="http://127.0.0.1:8000/v/" + "b" * 32,
                           signature_png=render_png(signature), thumbnails=thumbs, auto_seal=True)


def _signer():
    import types

    from cryptography import x509

    from delivery_sign.receipts import certificates

    cert_der, key_der = certificates._self_signed(types.SimpleNamespace(name="压测物流有限公司"))
    from delivery_sign.core.crypto import encrypt

    blob = encrypt(key_der, certificates._KEY_PURPOSE, "bench")
    x509.load_der_x509_certificate(cert_der)
    return certificates._signer(1, "fp", cert_der, blob, (), "bench")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})   # one core
    from delivery_sign.receipts import pdf

    doc, signer = _document(), _signer()
    for _ in range(5):
        pdf.sign(doc, signer)   # warm: font registration, signer, imports
    times, size = [], 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(args.n):
        start = time.perf_counter()
        data = pdf.sign(doc, signer)
        times.append(time.perf_counter() - start)
        size = len(data)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    render_only = []
    for _ in range(min(args.n, 50)):
        start = time.perf_counter()
        pdf.render(doc)
        render_only.append(time.perf_counter() - start)
    print(f"receipt PDF (2 thumbnails, signature, seal, PAdES B-B), {size / 1024:.0f} KiB")
    print(f"  render+sign per receipt: {summary_ms(times)}   target p50 <= 80 ms")
    print(f"  render only:             {summary_ms(render_only)}")
    print(f"  one worker, one core:    {args.n / elapsed:.1f} receipts/s   target >= 12")
    # Wall time on a shared machine includes waiting for the core; CPU time does not.
    print(f"  CPU per receipt:         {cpu / args.n * 1000:.1f} ms ({args.n / cpu:.1f} receipts per CPU-second); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
