"""Consent: the consignee's say in how a parcel is delivered when nobody is home.

Consent requests (one SMS link ``/c/<token>``, one answer), standing consent per tenant,
consignee phone and address, and the consented drop at a locker, station, door, guard or
neighbour (《快递市场管理办法》2024 art. 28).
"""
