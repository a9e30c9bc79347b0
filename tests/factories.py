"""Factories: tenants with users and credentials, and valid waybill payloads."""
import io
import itertools
import uuid
from dataclasses import dataclass, field

from delivery_sign.accounts import api_keys, doc_types, logins, org_units, tenants, users
from delivery_sign.core.auth import Principal
from delivery_sign.extensions import db

_numbers = itertools.count(1)
PASSWORD = "correct horse battery"


def waybill_payload(number=None, **overrides):
    payload = {
        "number": number or f"SF{next(_numbers):010d}{uuid.uuid4().hex[:4].upper()}",
        "consignee": {"name": "李娜", "phone": "13800138000", "address": "上海市浦东新区世纪大道100号",
                      "location": {"lat": 31.2304, "lng": 121.4737, "coord_system": "gcj02"}},
        "items": [{"sku": "SOFA-3", "name": "三人位沙发", "qty": 1, "unit": "件"},
                  {"sku": "CHR-01", "name": "餐椅", "qty": 4, "unit": "把"}],
    }
    payload.update(overrides)
    return payload


@dataclass
class World:
    """One tenant: HQ → EAST → EAST-1 and WEST units; admin, dispatchers, couriers, an API key."""

    app: object
    client: object
    slug: str
    tenant_id: int
    tokens: dict = field(default_factory=dict)
    api_key: str = ""

    @classmethod
    def create(cls, app, client):
        slug = f"t{uuid.uuid4().hex[:12]}"
        with app.app_context():
            tenant = tenants.create_tenant(slug, f"测试物流 {slug}", "admin", PASSWORD)
            actor = "test"
            org_units.create_org_unit(tenant.id, actor, code="EAST", name="华东", parent_code="HQ")
            org_units.create_org_unit(tenant.id, actor, code="EAST-1", name="浦东站", parent_code="EAST")
            org_units.create_org_unit(tenant.id, actor, code="WEST", name="西南", parent_code="HQ")
            for username, role, unit in (("disp_east", "dispatcher", "EAST"), ("disp_west", "dispatcher", "WEST"),
                                         ("courier1", "courier", "EAST-1"), ("courier2", "courier", "EAST-1")):
                users.create_user(tenant.id, actor, username=username, password=PASSWORD, role=role,
                                     org_unit=unit, phone="13900001111")
            tokens = {}
            for username in ("admin", "disp_east", "disp_west", "courier1", "courier2"):
                user = users.user_by_username(Principal(tenant_id=tenant.id, role="admin", actor=actor), username)
                tokens[username] = logins.issue_token(user)[0]
            _, api_key = api_keys.create_api_key(Principal(tenant_id=tenant.id, role="admin", actor=actor), "tms")
            # The suite's flows predate courier photos (issue 12): the recipient takes them.
            # Tests of the courier default (photos_by: courier) set it themselves.
            default = doc_types.doc_type_by_code(tenant.id, "default")
            default.policy = {**default.policy, "photos_by": "recipient"}
            db.session.commit()
            world = cls(app=app, client=client, slug=slug, tenant_id=tenant.id, tokens=tokens, api_key=api_key)
        return world

    def auth(self, who="admin"):
        token = self.api_key if who == "api" else self.tokens[who]
        return {"Authorization": f"Bearer {token}"}

    def post(self, path, json=None, who="admin", **kwargs):
        return self.client.post(f"/api/v1{path}", json=json, headers=self.auth(who), **kwargs)

    def get(self, path, who="admin", **kwargs):
        return self.client.get(f"/api/v1{path}", headers=self.auth(who), **kwargs)

    def patch(self, path, json=None, who="admin"):
        return self.client.patch(f"/api/v1{path}", json=json, headers=self.auth(who))

    def put(self, path, who="admin", **kwargs):
        return self.client.put(f"/api/v1{path}", headers=self.auth(who), **kwargs)

    def delete(self, path, who="admin"):
        return self.client.delete(f"/api/v1{path}", headers=self.auth(who))

    def waybill(self, who="admin", **overrides):
        response = self.post("/waybills", waybill_payload(**overrides), who=who)
        assert response.status_code == 201, response.get_json()
        return response.get_json()


def photo_file(data, name="photo.jpg"):
    return (io.BytesIO(data), name)


class Door:
    """A courier at a door: a waybill, its sign link, and the recipient's calls."""

    def __init__(self, world, signature, photo, **waybill):
        self.world, self.client = world, world.client
        self.signature, self.photo = signature, photo
        self.waybill = world.waybill(courier="courier1", org_unit="EAST-1", **waybill)
        self.number = self.waybill["number"]
        response = world.post("/sign-links", {"waybills": [self.number]}, who="courier1")
        assert response.status_code == 201, response.get_json()
        self.link = response.get_json()
        self.token = self.link["token"]

    def view(self):
        return self.client.get(f"/api/v1/sign/{self.token}")

    def upload(self, data=None, kind="goods", token=None):
        return self.client.post(f"/api/v1/sign/{token or self.token}/photos",
                                data={"file": photo_file(data or self.photo), "kind": kind},
                                content_type="multipart/form-data")

    def body(self, photo_ids=None, **overrides):
        body = {
            "submission_id": str(uuid.uuid4()),
            "outcome": "signed",
            "signer": {"name": self.signature["signer_name"], "relation": "self"},
            "signature": {"strokes": self.signature["strokes"], "canvas": self.signature["canvas"]},
            "location": {"lat": 31.2304, "lng": 121.4737, "accuracy": 15, "coord_system": "gcj02", "source": "gps"},
            "photo_ids": photo_ids if photo_ids is not None else [self.upload().get_json()["photo_id"]],
            "items": [],
            "refuse_reason": "",
            "client": {"platform": "h5", "user_agent": "pytest"},
        }
        body.update(overrides)
        return body

    def submit(self, body=None, token=None):
        return self.client.post(f"/api/v1/sign/{token or self.token}/submit", json=body or self.body())
