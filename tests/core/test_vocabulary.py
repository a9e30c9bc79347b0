"""The one vocabulary covers every code the domains use, in both languages."""
import pytest

from delivery_sign.core import vocabulary
from delivery_sign.receipts.models import OUTCOMES, RELATIONS
from delivery_sign.signing.recipient import PHOTO_KINDS
from delivery_sign.waybills.models import STATUSES

SPEC_ANOMALIES = ("signer_not_consignee", "outside_geofence", "no_location", "low_location_accuracy",
                  "weak_signature", "robotic_signature", "replayed_signature", "duplicate_photo", "blurry_photo",
                  "dark_photo", "signed_on_courier_device", "partial_delivery", "refused", "late_signature",
                  "courier_far_from_signer")


@pytest.mark.parametrize("group, codes", [("status", STATUSES), ("outcome", OUTCOMES), ("relation", RELATIONS),
                                          ("photo_kind", PHOTO_KINDS), ("anomaly", SPEC_ANOMALIES),
                                          ("decision", ("accepted", "disputed"))])
def test_every_code_has_a_label_in_both_languages(group, codes):
    for lang in vocabulary.LANGS:
        names = vocabulary.labels_of(group, lang)
        missing = [c for c in codes if not names.get(c)]
        assert missing == [], (group, lang, missing)
    zh = vocabulary.labels_of(group, "zh")
    assert len(set(zh.values())) == len(zh), f"two codes of {group} share a word"


def test_labels_fall_back_to_the_code_and_languages_are_normalised():
    assert vocabulary.label("anomaly", "brand_new_check") == "brand_new_check"
    assert vocabulary.label("relation", None) == ""
    assert vocabulary.lang_of("zh-CN") == "zh" and vocabulary.lang_of("EN") == "en"
    assert vocabulary.lang_of("fr") == "zh" and vocabulary.lang_of(None, "en") == "en"


def test_fast_local_times_equal_the_precise_ones_across_transitions():
    from datetime import datetime, timedelta

    from delivery_sign.core.clock import local_text, local_texter

    # Newfoundland changes at 02:00 local = 05:30 UTC: inside an hour, the per-hour cache must not apply.
    for zone, start in (("America/St_Johns", datetime(2026, 3, 8, 3, 0)), ("Europe/Berlin", datetime(2026, 3, 29, 0, 0)),
                        ("Asia/Shanghai", datetime(2026, 11, 30, 0, 0))):
        fast = local_texter(zone)
        for minutes in range(0, 6 * 60, 7):
            value = start + timedelta(minutes=minutes, seconds=13, microseconds=5)
            assert fast(value) == local_text(value, zone), (zone, value)
    assert local_texter("Asia/Shanghai")(None) == ""
