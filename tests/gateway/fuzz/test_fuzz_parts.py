"""The schemathesis parts together fuzz every operation of the route table, each in one part."""

from support.fuzz import PARTS, REST, in_part
from support.server import CloudServer


def test_every_operation_is_fuzzed_in_exactly_one_part(cloud: CloudServer) -> None:
    areas = {route.area for route in cloud.app.state.table.routes}
    named = [area for part in PARTS.values() for area in part]
    assert len(named) == len(set(named)), "an area is named in two parts"
    assert set(named) <= areas, f"parts name areas the route table does not have: {set(named) - areas}"
    for area in areas:
        assert sum(in_part(part, area) for part in [*PARTS, REST]) == 1, area
