"""Open311 GeoReport v2 (with the common extensions) over the community service requests."""
