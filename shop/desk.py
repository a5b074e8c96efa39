"""The order desk: chat orders worked by staff, one item per parsed chat order (intent).

States: new -> claimed (by one staff member) -> ordered (with the order's id), or
dismissed; a claim can be released (back to new) and a dismissal undone. An item that
is `ordered` never moves again: that is what keeps a chat order from being ordered twice.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from shop.errors import Conflict


class DeskState(enum.StrEnum):
    NEW = "new"
    CLAIMED = "claimed"
    ORDERED = "ordered"
    DISMISSED = "dismissed"


# target -> the states it may be reached from.
DESK_TRANSITIONS: dict[DeskState, frozenset[DeskState]] = {
    DeskState.CLAIMED: frozenset({DeskState.NEW, DeskState.CLAIMED}),
    DeskState.NEW: frozenset({DeskState.CLAIMED, DeskState.DISMISSED}),
    DeskState.ORDERED: frozenset({DeskState.NEW, DeskState.CLAIMED}),
    DeskState.DISMISSED: frozenset({DeskState.NEW, DeskState.CLAIMED}),
}


class AlreadyOrdered(Conflict):
    """This chat order was already turned into an order."""

    code = "already_ordered"


class ClaimedByOther(Conflict):
    """Another staff member is working on this chat order."""

    code = "claimed_by_other"


@dataclass(frozen=True, slots=True)
class DeskItem:
    id: int
    session_id: int
    intent_id: str
    message_id: str
    name: str
    text: str
    offer_id: int
    quantity: int
    grams: int
    total: int
    state: DeskState
    claimed_by: int | None
    order_id: str | None
    created_at: datetime
    updated_at: datetime


def check_move(item: DeskItem, target: DeskState, actor_id: int) -> None:
    """Refuse a move the desk does not allow (someone else's claim, an ordered item)."""
    if item.state is DeskState.ORDERED:
        raise AlreadyOrdered(f"this chat order is already order {item.order_id}")
    if item.state not in DESK_TRANSITIONS[target]:
        raise Conflict(f"a {item.state.value} chat order cannot become {target.value}")
    if item.state is DeskState.CLAIMED and item.claimed_by not in (None, actor_id):
        if target in (DeskState.CLAIMED, DeskState.ORDERED):
            raise ClaimedByOther("another staff member has claimed this chat order")
