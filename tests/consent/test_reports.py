"""Drops in the reports and the export: ``dropped`` is a status of the roll-up like the others."""
import csv
import io

from delivery_sign.reports import rollup


def test_summary_and_export_count_drops(app, world, parcel, make_parcel):
    token = parcel.asked(options=["guard"])
    parcel.answer(token, choice="guard")
    assert parcel.drop(place="guard").status_code == 201
    make_parcel()
    with app.app_context():
        rollup.fold()
    summary = world.get("/reports/summary?group_by=doc_type").get_json()
    [row] = summary["rows"]
    assert row["total"] == 2 and row["by_status"]["dropped"] == 1 and row["by_status"]["assigned"] == 1
    # A drop is nobody's signature: neither the consignee's nor someone else's.
    assert row["signed_by_consignee"] == 0 and row["signed_by_others"] == 0
    exported = world.get("/waybills/export?format=csv&status=dropped")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2 and parcel.number in rows[1]
