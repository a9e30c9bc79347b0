"""The tenant's signing identity: the certificate receipts are PAdES-signed with, and its seal.

A tenant gets an EC P-256 self-signed certificate the first time a receipt is signed;
an admin may replace it with a PKCS#12 from a CA (``PUT /tenant/certificate``). Old
certificates are kept, inactive, so receipts signed before a change still verify. The
private key is stored encrypted (core.crypto, derived from ``SECRET_KEY``).
"""
import base64
import datetime as dt
import functools
import hashlib
import threading

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from sqlalchemy import JSON, ForeignKey, LargeBinary, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ..accounts.models import Tenant
from ..core import audit
from ..core.clock import utcnow
from ..core.crypto import decrypt, encrypt
from ..core.errors import ValidationFailed, field_error
from ..extensions import db

_KEY_PURPOSE = "tenant-signing-key"


class TenantCertificate(db.Model):
    __tablename__ = "tenant_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    source: Mapped[str] = mapped_column(String(10))          # generated | uploaded
    active: Mapped[bool] = mapped_column(default=True)
    subject: Mapped[str] = mapped_column(String(300))
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)   # SHA-256 of the DER certificate
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    chain_der: Mapped[list] = mapped_column(JSON)             # base64 DER of the CA certificates, if any
    key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    not_after: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TenantSeal(db.Model):
    """The company seal image the tenant uploaded (PNG with transparency)."""

    __tablename__ = "tenant_seals"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def _fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _self_signed(tenant: Tenant) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{tenant.name} 电子签收"[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, tenant.name[:64]),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    key_der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.DER), key_der


def _store(tenant_id: int, source: str, cert: x509.Certificate, key_der: bytes, chain: list) -> TenantCertificate:
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    row = TenantCertificate(
        tenant_id=tenant_id, source=source, active=True, subject=cert.subject.rfc4514_string()[:300],
        fingerprint=_fingerprint(cert_der), cert_der=cert_der,
        chain_der=[base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain],
        key_encrypted=encrypt(key_der, _KEY_PURPOSE),
        not_after=cert.not_valid_after_utc.replace(tzinfo=None))
    db.session.add(row)
    db.session.flush()
    return row


def current_certificate(tenant_id: int) -> TenantCertificate | None:
    return db.session.execute(
        select(TenantCertificate).where(TenantCertificate.tenant_id == tenant_id, TenantCertificate.active)
        .order_by(TenantCertificate.id.desc()).limit(1)
    ).scalar_one_or_none()


def active_certificate(tenant_id: int) -> TenantCertificate:
    """The certificate new receipts are signed with; a self-signed one is made on first use."""
    row = current_certificate(tenant_id)
    if row is not None:
        return row
    tenant = db.session.get(Tenant, tenant_id)
    cert_der, key_der = _self_signed(tenant)
    row = _store(tenant_id, "generated", x509.load_der_x509_certificate(cert_der), key_der, [])
    audit.record(tenant_id, "tenant.certificate_generated", "system", f"tenant:{tenant.slug}",
                 {"fingerprint": row.fingerprint, "subject": row.subject})
    return row


def upload_pkcs12(principal, data: bytes, password: str | None) -> TenantCertificate:
    """Replace the tenant's signing certificate with the key and chain of a PKCS#12 file."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError:
        raise ValidationFailed([field_error("file", "pkcs12_invalid",
                                            "Not a PKCS#12 file, or the password is wrong.")]) from None
    if key is None or cert is None:
        raise ValidationFailed([field_error("file", "pkcs12_invalid", "The file must hold a private key and its certificate.")])
    if cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
            key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise ValidationFailed([field_error("file", "pkcs12_invalid", "The private key does not match the certificate.")])
    if cert.not_valid_after_utc < dt.datetime.now(dt.timezone.utc):
        raise ValidationFailed([field_error("file", "certificate_expired", "The certificate has expired.")])
    key_der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    db.session.execute(update(TenantCertificate).where(TenantCertificate.tenant_id == principal.tenant_id)
                       .values(active=False))
    row = _store(principal.tenant_id, "uploaded", cert, key_der, list(extra or []))
    audit.record(principal.tenant_id, "tenant.certificate_uploaded", principal.actor, f"certificate:{row.id}",
                 {"fingerprint": row.fingerprint, "subject": row.subject})
    return row


def certificate_view(row: TenantCertificate) -> dict:
    return {"subject": row.subject, "fingerprint_sha256": row.fingerprint, "source": row.source,
            "not_after": row.not_after, "created_at": row.created_at,
            "certificate_pem": x509.load_der_x509_certificate(row.cert_der)
            .public_bytes(serialization.Encoding.PEM).decode()}


def tenant_fingerprints(tenant_id: int) -> set[str]:
    """Every certificate the tenant ever signed receipts with (active or replaced)."""
    return set(db.session.execute(
        select(TenantCertificate.fingerprint).where(TenantCertificate.tenant_id == tenant_id)).scalars())


def tenant_certificates_der(tenant_id: int) -> list[bytes]:
    return list(db.session.execute(
        select(TenantCertificate.cert_der).where(TenantCertificate.tenant_id == tenant_id)).scalars())


# Building a signer parses the certificate and decrypts the key; a receipt a second
# should not pay that each time. Keyed by the row and its fingerprint, so a new upload
# (a new row) is picked up at once.
_signer_lock = threading.Lock()


def signer_for(row: TenantCertificate, secret_key: str):
    return _signer(row.id, row.fingerprint, row.cert_der, row.key_encrypted, tuple(row.chain_der), secret_key)


@functools.lru_cache(maxsize=64)
def _signer(row_id, fingerprint, cert_der, key_encrypted, chain, secret_key):
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key_der = decrypt(key_encrypted, _KEY_PURPOSE, secret_key)
    cert = asn1_x509.Certificate.load(cert_der)
    others = [asn1_x509.Certificate.load(base64.b64decode(c)) for c in chain]
    signer = signers.SimpleSigner(signing_cert=cert, signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
                                  cert_registry=SimpleCertificateStore.from_certs([cert, *others]))
    signer.signed_attr_prov_spec = _pades_signed_attributes(cert)
    return signer


def _pades_signed_attributes(cert):
    """PAdES B-B signed attributes (besides content type and digest): signing-certificate-v2.

    What pyHanko's own spec yields for a PAdES signature without CAdES extras, but the
    attribute's value is serialised once per certificate: asn1crypto rebuilt it from the
    certificate's issuer name on every receipt, 18 ms of a 25 ms CMS.
    """
    from asn1crypto import tsp
    from pyhanko.sign.attributes import CMSAttributeProvider, SignedAttributeProviderSpec
    from pyhanko.sign.general import as_signing_certificate_v2

    value_der = as_signing_certificate_v2(cert, "sha256").dump()

    class SigningCertificateV2(CMSAttributeProvider):
        attribute_type = "signing_certificate_v2"

        async def build_attr_value(self, dry_run=False):
            return tsp.SigningCertificateV2.load(value_der)   # a fresh object: CMS assembly retags it

    class Spec(SignedAttributeProviderSpec):
        def signed_attr_providers(self, data_digest, digest_algorithm):
            yield SigningCertificateV2()

    return Spec()


# --- the seal --------------------------------------------------------------------------

def upload_seal(principal, data: bytes) -> TenantSeal:
    import io

    from PIL import Image, UnidentifiedImageError

    from ..core.storage import get_storage

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise ValueError
            image.verify()
            if image.width * image.height > 4096 * 4096:
                raise ValueError
    except (UnidentifiedImageError, ValueError, OSError):
        raise ValidationFailed([field_error("body", "seal_invalid", "The seal must be a PNG image.")]) from None
    digest = hashlib.sha256(data).hexdigest()
    key = f"seals/{principal.tenant_id}/{digest}.png"
    get_storage().put(key, data, "image/png")
    seal = db.session.get(TenantSeal, principal.tenant_id)
    if seal is None:
        seal = TenantSeal(tenant_id=principal.tenant_id)
        db.session.add(seal)
    seal.storage_key, seal.sha256, seal.uploaded_at = key, digest, utcnow()
    audit.record(principal.tenant_id, "tenant.seal_uploaded", principal.actor, f"seal:{digest[:16]}",
                 {"sha256": digest, "size": len(data)})
    return seal
