"""Geolocation over plain data: WGS-84 / GCJ-02 / BD-09 conversion, distances and the
location findings of a sign-off (geofence, accuracy, courier far from signer)."""
