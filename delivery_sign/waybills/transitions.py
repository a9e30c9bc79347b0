"""The waybill's state machine: which status may follow which, and the one function that
moves it.

Every status change of a waybill goes through ``move`` (or ``check`` first, where a caller
must refuse before it writes anything; ``move_written`` where the caller writes the row
itself, a sign-off's one UPDATE in waybills.services ``record_signoff``), whichever domain asks: waybills itself (assign,
cancel), signing (a QR made, a sign-off), consent (a drop). A change the table does not
allow is a 409 whose words name the change asked for.
"""
from sqlalchemy import inspect
from sqlalchemy.orm.attributes import set_committed_value

from ..core.errors import Conflict
from .models import STATUSES, Waybill

_SIGNED_OFF = ("signed", "partially_signed", "refused")

# {from: {to, …}}. A status missing from a set is refused. ``assigned -> assigned`` is a
# reassignment; ``out_for_delivery -> out_for_delivery`` a second QR for the same round.
# A sign-off is allowed from every open status, as the link's own check (signing.links
# DELIVERABLE) always allowed it, though a link puts its waybills out for delivery first.
TRANSITIONS: dict[str, frozenset] = {
    "created": frozenset({"assigned", "out_for_delivery", "cancelled", "dropped", *_SIGNED_OFF}),
    "assigned": frozenset({"assigned", "out_for_delivery", "cancelled", "dropped", *_SIGNED_OFF}),
    "out_for_delivery": frozenset({"out_for_delivery", "cancelled", "dropped", *_SIGNED_OFF}),
    "signed": frozenset(),
    "partially_signed": frozenset(),
    "refused": frozenset(),
    "cancelled": frozenset(),
    "dropped": frozenset(),
}
assert set(TRANSITIONS) == set(STATUSES)

_SIGN_OFF_REFUSAL = ("Waybill {number} is {status}; it can no longer be signed for.", None)
# The answer to a change the table refuses, by the status asked for: (detail, slug).
REFUSALS = {
    "assigned": ("Waybill {number} is {status}; only created or assigned waybills can be assigned.", None),
    "out_for_delivery": ("Waybill {number} is {status}; it cannot be signed for.", None),
    "cancelled": ("Waybill {number} is {status} and can no longer be cancelled.", None),
    "dropped": ("Waybill {number} is {status}; it can no longer be dropped.", "waybill-final"),
    **{status: _SIGN_OFF_REFUSAL for status in _SIGNED_OFF},
}


def allowed(status: str, to: str) -> bool:
    return to in TRANSITIONS[status]


def sources_of(to: str) -> tuple[str, ...]:
    """The statuses a waybill may be in to move to ``to``, in ``STATUSES`` order."""
    return tuple(s for s in STATUSES if to in TRANSITIONS[s])


def check(waybill: Waybill, to: str) -> None:
    """409 unless the waybill may move to ``to`` now; nothing is changed."""
    if not allowed(waybill.status, to):
        detail, slug = REFUSALS[to]
        raise Conflict(detail.format(number=waybill.number, status=waybill.status), slug=slug)


def move(waybill: Waybill, to: str) -> None:
    """The one way a waybill's status changes: checked against ``TRANSITIONS``, then set.
    The caller holds the row lock and sets the columns that go with the change."""
    check(waybill, to)
    waybill.status = to


def move_written(waybill, to: str) -> None:
    """``move`` for a caller that writes the row itself, in one statement for many
    (``record_signoff``): checked, then ``waybill`` holds ``to``: an entity as committed,
    so no unit-of-work flush follows that would write nothing; the sign-off's plain
    object (signing.submit ``LockedWaybill``) as an attribute."""
    check(waybill, to)
    hold(waybill, "status", to)


def hold(waybill, key: str, value) -> None:
    """Set what was written by a statement: committed on an entity, plain otherwise."""
    if inspect(waybill, raiseerr=False) is not None:
        set_committed_value(waybill, key, value)
    else:
        setattr(waybill, key, value)
