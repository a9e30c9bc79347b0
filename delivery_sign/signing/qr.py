"""QR codes of sign URLs: PNG (any size) and SVG, error correction M."""
import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4   # modules of white border the QR standard asks for


def _qr(url: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE, box_size=1)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str, size: int) -> bytes:
    code = _qr(url)
    modules = code.modules_count + 2 * QUIET_ZONE
    # Whole pixels per module keep edges crisp for phone cameras.
    code.box_size = max(1, size // modules)
    image = code.make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(url: str) -> bytes:
    code = _qr(url)
    code.box_size = 10
    image = code.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
