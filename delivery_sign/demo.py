"""The ``demo`` tenant seeded on an empty database, so a newcomer has something to click,
its passwords (printed on the first start, reset by ``flask --app wsgi demo-credentials``)
and the start banner that says where everything is."""
import secrets
from urllib.parse import urlsplit

from .accounts import org_units, tenants, users
from .core.auth import Principal
from .waybills.services import create_waybills

_CONSIGNEES = [
    ("李娜", "13800138000", "上海市浦东新区世纪大道100号 8楼"),
    ("王伟", "13912345678", "上海市浦东新区张杨路500号 华润时代广场 12F"),
    ("张敏", "13700001111", "上海市浦东新区陆家嘴环路1000号"),
    ("刘洋", "15000002222", "上海市浦东新区东方路800号 宝安大厦 3楼前台"),
    ("陈静", "18600003333", "上海市浦东新区浦电路370号"),
    ("杨磊", "13600004444", "上海市浦东新区峨山路91弄 5号 602室"),
]
_ITEMS = [
    ("SOFA-3", "三人位布艺沙发", 1, "件"),
    ("TBL-120", "实木餐桌 120cm", 1, "张"),
    ("CHR-01", "餐椅", 4, "把"),
    ("BOX-A4", "A4 复印纸", 10, "箱"),
    ("WTR-18", "桶装水 18.9L", 3, "桶"),
]


DEMO_SLUG = "demo"
DEMO_USERS = ("admin", "dispatcher", "courier")


def seed_demo() -> None:
    passwords = _new_passwords()
    tenant = tenants.create_tenant("demo", "演示物流有限公司", "admin", passwords["admin"])
    actor = "system:demo-seed"
    station = org_units.create_org_unit(tenant.id, actor, code="SH-PD", name="上海浦东站", parent_code="HQ")
    users.create_user(tenant.id, actor, username="dispatcher", password=passwords["dispatcher"],
                         role="dispatcher", org_unit=station.code, display_name="调度员 周")
    users.create_user(tenant.id, actor, username="courier", password=passwords["courier"],
                         role="courier", org_unit=station.code, display_name="快递员 孙", phone="13100009999")
    system = Principal(tenant_id=tenant.id, role="system", actor=actor)
    waybills = []
    for i in range(12):
        name, phone, address = _CONSIGNEES[i % len(_CONSIGNEES)]
        items = [_ITEMS[(i + k) % len(_ITEMS)] for k in range(1 + i % 3)]
        waybills.append({
            "number": f"DEMO{20261127000 + i}", "org_unit": station.code,
            "courier": "courier" if i < 8 else None,
            "consignee": {"name": name, "phone": phone, "address": address,
                          "location": {"lat": 31.2304 + i * 0.002, "lng": 121.4737 + i * 0.002,
                                       "coord_system": "gcj02"}},
            "items": [{"sku": sku, "name": n, "qty": q, "unit": u} for sku, n, q, u in items],
        })
    create_waybills(system, waybills)
    # Printed on the first start; `flask --app wsgi demo-credentials` makes and prints new ones.
    print(credentials_text(passwords), flush=True)


def _new_passwords() -> dict:
    return {username: secrets.token_urlsafe(9) for username in DEMO_USERS}


def reset_demo_passwords() -> dict | None:
    """New passwords for the demo users (their open sessions end); None without a demo tenant."""
    tenant = tenants.tenant_by_slug(DEMO_SLUG)
    if tenant is None:
        return None
    system = Principal(tenant_id=tenant.id, role="system", actor="system:cli")
    passwords = _new_passwords()
    for username, password in passwords.items():
        users.update_user(system, username, {"password": password})
    return passwords


def credentials_text(passwords: dict) -> str:
    lines = [f"demo tenant '{DEMO_SLUG}': sign in with (username / password):"]
    lines += [f"  {username:<10} / {password}" for username, password in passwords.items()]
    return "\n".join(lines)


def start_urls(base_url: str) -> dict:
    """Where a newcomer goes first; the start page and the start banner list the same places."""
    return {"start page": f"{base_url}/", "courier app": f"{base_url}/courier",
            "dashboard": f"{base_url}/dashboard", "API docs": f"{base_url}/api/docs",
            "OpenAPI JSON": f"{base_url}/api/v1/openapi.json"}


def start_banner(base_url: str) -> str:
    lines = ["delivery_sign is starting:"]
    lines += [f"  {name:<13} {url}" for name, url in start_urls(base_url).items()]
    lines.append("  demo sign-in: tenant 'demo'; `flask --app wsgi demo-credentials` prints new passwords")
    if urlsplit(base_url).hostname in ("127.0.0.1", "localhost", "::1"):
        lines.append(f"  phones: QR codes and links point at {base_url}, which only this machine reaches; "
                     "set PUBLIC_BASE_URL (and BIND) to an address the phones reach")
    return "\n".join(lines)
