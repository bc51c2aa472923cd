"""How the benchmark's wait decides that servers are recovered from what Nova announced and what it listed: the
later sighting wins, the instant is the first sighting of the server recovered, Nova's ERROR ends a floor's wait."""

from __future__ import annotations

from tests.bench.host_failure import Sightings
from vmha.demo.servers import Placement

FAILED, OTHER = "compute4", "compute2"


def placed(server: str, host: str = FAILED, status: str = "ACTIVE", task: str | None = None) -> Placement:
    return Placement(server, f"bench-{server}", host, status, task)


def sightings(*servers: str, give_up_on_error: bool = False, told: list[str] | None = None) -> Sightings:
    return Sightings({server: placed(server) for server in servers}, give_up_on_error,
                     None if told is None else told.append)


def test_a_server_is_recovered_from_the_first_sighting_on_another_host_settled() -> None:
    seen = sightings("a", "b")
    seen.saw(placed("a", OTHER, task="rebuild_spawning"), 1.0)
    seen.saw(placed("a", OTHER), 2.0)
    seen.saw(placed("a", OTHER), 3.0)
    assert seen.recovered == {"a": 2.0}
    assert len(seen.recovered) < len(seen.before)
    seen.saw(placed("b", OTHER), 4.0)
    assert seen.all_recovered and max(seen.recovered.values()) == 4.0


def test_a_listing_older_than_the_announcement_changes_nothing() -> None:
    """An announcement heard while a listing was on its way: the listing read Nova before the change."""
    seen = sightings("a")
    seen.saw(placed("a", OTHER), 5.0)
    seen.saw(placed("a", FAILED, task="rebuilding"), 4.8)
    assert seen.recovered == {"a": 5.0}


def test_a_later_sighting_elsewhere_undoes_the_recovery() -> None:
    seen = sightings("a")
    seen.saw(placed("a", OTHER), 5.0)
    seen.saw(placed("a", OTHER, "SHUTOFF"), 6.0)
    assert seen.recovered == {}
    seen.saw(placed("a", OTHER), 7.0)
    assert seen.recovered == {"a": 7.0}


def test_each_server_is_told_once_and_strangers_are_ignored() -> None:
    told: list[str] = []
    seen = sightings("a", told=told)
    seen.saw(placed("z", OTHER), 1.0)
    seen.saw(placed("a", OTHER), 2.0)
    seen.saw(placed("a", OTHER, "SHUTOFF"), 3.0)
    seen.saw(placed("a", OTHER), 4.0)
    assert told == ["a"]
    assert "z" not in seen.recovered


def test_nova_giving_up_ends_only_a_wait_that_gives_up_on_error() -> None:
    for give_up in (True, False):
        seen = sightings("a", give_up_on_error=give_up)
        seen.saw(placed("a", FAILED, "ERROR", "rebuilding"), 1.0)
        assert not seen.given_up
        seen.saw(placed("a", FAILED, "ERROR"), 2.0)
        assert seen.given_up is give_up
