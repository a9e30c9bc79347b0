"""The one vocabulary of labels: what each code of the domain is called, in Chinese and English.

Waybill statuses, sign-off outcomes, signer relations, anomalies, photo kinds, who took a
photo, reconciliation decisions and the names of export columns. The API serves it
(``GET /api/v1/labels``), the pages load it as ``/labels.js`` (static/js/common.js looks a
key up here before the page's own strings), and the receipt PDF, the verification page and
the exports read it from Python, so one thing has one word everywhere (家属, never also
家人). Codes stay the contract; labels may be reworded at any time.

Plain data, no Flask and no database: core must not import the domains, so the codes are
written out here; tests/core/test_vocabulary.py checks that they cover the domains' codes.
"""
LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

# group → code → (zh, en)
GROUPS: dict[str, dict[str, tuple[str, str]]] = {
    "status": {
        "created": ("待分配", "Unassigned"),
        "assigned": ("待派送", "Assigned"),
        "out_for_delivery": ("派送中", "Out for delivery"),
        "signed": ("已签收", "Signed"),
        "partially_signed": ("部分签收", "Partly signed"),
        "refused": ("已拒收", "Refused"),
        "cancelled": ("已取消", "Cancelled"),
        "dropped": ("已按约定放置", "Dropped as agreed"),
    },
    "outcome": {
        "signed": ("全部签收", "Signed"),
        "partial": ("部分签收", "Partly signed"),
        "refused": ("拒收", "Refused"),
        "dropped": ("按约定放置", "Dropped as agreed"),
    },
    "relation": {
        "self": ("本人", "Consignee"),
        "family": ("家属", "Family"),
        "colleague": ("同事", "Colleague"),
        "guard": ("门卫保安", "Doorman / guard"),
        "locker": ("快递柜/驿站", "Locker / parcel station"),
        "other": ("其他", "Other"),
    },
    "anomaly": {
        "signer_not_consignee": ("非收货人本人签收", "Signed by someone other than the consignee"),
        "outside_geofence": ("签收位置超出地理围栏", "Signed outside the geofence"),
        "no_location": ("未提供签收位置", "No location given"),
        "low_location_accuracy": ("定位精度过低", "Location too imprecise"),
        "weak_signature": ("签名过于简单", "Signature too simple"),
        "robotic_signature": ("签名疑似机器生成", "Signature looks machine-made"),
        "replayed_signature": ("签名与以往签收重复（疑似回放）", "Signature repeats an earlier sign-off (possible replay)"),
        "duplicate_photo": ("照片与其他签收的照片重复", "Photo duplicates one of another sign-off"),
        "blurry_photo": ("照片模糊", "Blurry photo"),
        "dark_photo": ("照片过暗", "Photo too dark"),
        "signed_on_courier_device": ("在快递员的设备上签收", "Signed on the courier's device"),
        "partial_delivery": ("部分签收（有短少或破损）", "Partly signed (short or damaged)"),
        "refused": ("收货人拒收", "Refused by the consignee"),
        "late_signature": ("超出时限签收", "Signed after the time limit"),
        "courier_far_from_signer": ("快递员与签收人相距过远", "Courier far from the signer"),
        "name_not_recognized": ("签名与姓名不符", "Signature does not read as the name"),
        "dropped_without_consent": ("未经同意放置", "Dropped without consent"),
    },
    "photo_kind": {
        "goods": ("货物照片", "Goods"),
        "scene": ("现场照片", "Scene"),
        "id": ("证件照片", "ID document"),
        "other": ("其他照片", "Other"),
    },
    "taken_by": {
        "courier": ("快递员", "Courier"),
        "recipient": ("签收人", "Signer"),
    },
    "decision": {
        "accepted": ("已确认", "Accepted"),
        "disputed": ("有争议", "Disputed"),
    },
    # Export columns and the item sheet (reports/export.py).
    "column": {
        "number": ("运单号", "Waybill number"),
        "status": ("状态", "Status"),
        "doc_type": ("单据类型", "Document type"),
        "org_unit": ("网点", "Org unit"),
        "courier": ("快递员", "Courier"),
        "consignee_name": ("收货人", "Consignee"),
        "consignee_phone": ("收货人电话", "Consignee phone"),
        "consignee_address": ("收货地址", "Address"),
        "created_at": ("创建时间", "Created"),
        "out_for_delivery_at": ("出库派送时间", "Out for delivery"),
        "signed_at": ("签收时间", "Signed"),
        "receipt_id": ("回执编号", "Receipt number"),
        "signer": ("签收人", "Signer"),
        "signer_relation": ("与收货人关系", "Relation to the consignee"),
        "anomalies": ("异常", "Anomalies"),
        "reconciliation": ("对账结果", "Reconciliation"),
        "reconcile_note": ("对账备注", "Reconciliation note"),
        "external_ref": ("外部单号", "External reference"),
        "item_sku": ("商品编码", "SKU"),
        "item_name": ("商品", "Item"),
        "item_unit": ("单位", "Unit"),
        "shipped": ("发货数量", "Shipped"),
        "received": ("实收数量", "Received"),
        "damaged": ("破损数量", "Damaged"),
        "note": ("备注", "Note"),
        "outcome": ("签收结果", "Outcome"),
        "drop_place": ("放置位置", "Drop place"),
        "consent_kind": ("放置依据", "Consent for the drop"),
        "consent_answered_at": ("收件人同意时间", "Consent answered"),
        "assisted": ("协助签收", "Assisted sign-off"),
        "assisted_otp_to": ("验证码发送给", "Code sent to"),
        "assisted_otp_phone": ("验证码手机", "Code phone"),
    },
    # Issue 14: where a parcel was left, the consent it relied on, whose phone proved an
    # assisted sign-off.
    "drop_place": {
        "locker": ("快递柜", "Parcel locker"),
        "station": ("驿站", "Parcel station"),
        "door": ("门口", "At the door"),
        "guard": ("门卫", "With the doorman"),
        "neighbour": ("邻居处", "With a neighbour"),
        "reschedule": ("改天派送", "Another day"),
    },
    "consent_kind": {
        "one_off": ("收件人本次同意", "Consignee agreed (this parcel)"),
        "standing": ("收件人长期授权", "Consignee's standing consent"),
        "none": ("未经同意", "Without consent"),
    },
    "otp_to": {
        "consignee": ("收货人手机", "Consignee's phone"),
        "receiver": ("签收人手机", "Receiver's phone"),
    },
    "yes_no": {
        "yes": ("是", "Yes"),
        "no": ("否", "No"),
    },
    "sheet": {
        "waybills": ("运单", "Waybills"),
        "items": ("货物明细", "Items"),
    },
}


def lang_of(value: str | None, default: str = DEFAULT_LANG) -> str:
    """``zh``/``en`` from a request's or tenant's language (``zh-CN`` → ``zh``); else ``default``."""
    if value:
        value = value.strip().lower()[:2]
        if value in LANGS:
            return value
    return default


def label(group: str, code: str | None, lang: str = DEFAULT_LANG) -> str:
    """The label of ``code`` (``""`` for none); an unknown code is shown as itself, never hidden."""
    if not code:
        return ""
    found = GROUPS.get(group, {}).get(code)
    return found[LANGS.index(lang)] if found else code


def labels_of(group: str, lang: str = DEFAULT_LANG) -> dict[str, str]:
    """code → label of one group, for loops that label many rows."""
    index = LANGS.index(lang)
    return {code: names[index] for code, names in GROUPS[group].items()}


def catalog(lang: str = DEFAULT_LANG) -> dict[str, dict[str, str]]:
    """Every group, code → label, in one language (what ``/api/v1/labels`` and ``/labels.js`` serve)."""
    return {group: labels_of(group, lang) for group in GROUPS}
