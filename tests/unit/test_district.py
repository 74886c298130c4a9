"""The sample district file: shape, ids and geography."""

import re

from config.topics import DeviceKind

BBOX = (39.100, 117.170, 39.145, 117.225)


def inside(lat, lon):
    return BBOX[0] <= lat <= BBOX[2] and BBOX[1] <= lon <= BBOX[3]


def test_six_subdistricts_and_sixty_three_communities(district):
    assert len(district.subdistricts) == 6
    assert len(district.communities) == 63
    assert district.raw["sample_data"] is True


def test_every_place_is_inside_heping(district):
    for item in [*district.subdistricts, *district.facilities, *district.stations]:
        assert inside(item["lat"], item["lon"]), item["id"]


def test_ids_are_unique_and_topic_safe(district):
    ids = [d.id for d in district.devices]
    assert len(ids) == len(set(ids))
    for f in [*district.facilities, *district.stations]:
        assert re.fullmatch(r"[A-Z0-9-]{1,20}", f["id"]), f["id"]


def test_one_sensor_per_smart_berth_and_per_station(district):
    smart = [b for b in district.berths if b["smart"]]
    berth_devices = [d for d in district.devices if d.kind is DeviceKind.PARKING_BERTH]
    assert len(berth_devices) == len(smart) > 0
    assert len([d for d in district.devices if d.kind is DeviceKind.AIR_STATION]) == len(district.stations)
