"""The server's half of restreaming: stored destinations (shop.restream) into the relay.

The relay (`stream.restream`) holds only the enabled destinations of sessions it
serves; it learns them when the host's publisher is let in (`load_into`, from the
WHIP route, in whichever process accepts it) and at once when the host changes them
here (`apply`). Every name the relay may log is the masked URL.
"""

from __future__ import annotations

import logging
from typing import Any

from shop.restream import Destination, RestreamStore, mask_url
from stream import Relay
from stream.restream import Target

log = logging.getLogger("farmlive.media")

IDLE = "idle"


def targets_of(destinations: list[Destination]) -> list[Target]:
    return [Target(d.url, mask_url(d.url)) for d in destinations if d.enabled]


def apply(relay: Relay | None, session_id: int, destinations: list[Destination]) -> None:
    if relay is not None:
        relay.set_restream(str(session_id), targets_of(destinations))


async def load_into(store: RestreamStore | None, relay: Relay | None, session_id: int) -> None:
    """Hand the session's stored destinations to the relay; a failure never blocks WHIP."""
    if store is None or relay is None:
        return
    try:
        apply(relay, session_id, await store.destinations(session_id))
    except Exception:
        log.exception("could not load the restream destinations of session %s", session_id)


def answer(relay: Relay | None, session_id: int, destinations: list[Destination]) -> list[Any]:
    """The contract's view: masked URL, enabled, the relay's state of each and its error."""
    states = relay.restream_states(str(session_id)) if relay is not None else {}
    rows: list[dict[str, Any]] = []
    for destination in destinations:
        state, error = (
            states.get(destination.url, (IDLE, None)) if destination.enabled else (IDLE, None)
        )
        rows.append(
            {
                "url": mask_url(destination.url),
                "enabled": destination.enabled,
                "state": state,
                "error": error,
            }
        )
    return rows
