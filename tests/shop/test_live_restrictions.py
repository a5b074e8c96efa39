"""Tests for shop.live.restrictions: which keys a socket's mutes and bans are checked on."""

from __future__ import annotations

from shop.live.identity import client_key, ip_key
from shop.live.restrictions import (
    Identity,
    ban_keys,
    device_key,
    keys_to_restrict,
    mute_keys,
)


def test_a_socket_answers_for_every_client_id_it_used() -> None:
    """Claiming a new client id adds to what the socket is known by; nothing is forgotten."""
    who = Identity(["first-id-aaaaaaaaaaaa"], device="dev1", ip="1.2.3.4")
    who.claim("second-id-bbbbbbbbbbb")
    who.claim("first-id-aaaaaaaaaaaa")
    assert mute_keys(who) == [
        client_key("first-id-aaaaaaaaaaaa"),
        client_key("second-id-bbbbbbbbbbb"),
        device_key("dev1"),
    ]
    assert ban_keys(who) == [*mute_keys(who), ip_key("1.2.3.4")]


def test_a_mute_never_holds_on_the_address() -> None:
    """Many people share a carrier address: a mute is written under client id and device only."""
    keys = keys_to_restrict("mute", client_id="c", device="d", ip="1.2.3.4", by_address=True)
    assert keys == [client_key("c"), device_key("d")]


def test_a_ban_holds_on_the_address_only_when_asked() -> None:
    """The address is banned only by a moderator's explicit choice."""
    assert ip_key("1.2.3.4") not in keys_to_restrict("ban", client_id="c", device="d", ip="1.2.3.4")
    asked = keys_to_restrict("ban", client_id="c", device="d", ip="1.2.3.4", by_address=True)
    assert asked == [client_key("c"), device_key("d"), ip_key("1.2.3.4")]


def test_known_as_matches_any_id_or_the_device() -> None:
    """A kick for an old client id or for the device reaches the socket."""
    who = Identity(["a" * 22], device="dev1")
    who.claim("b" * 22)
    assert who.known_as("a" * 22) and who.known_as("b" * 22) and who.known_as("x", "dev1")
    assert not who.known_as("x") and not who.known_as("x", "")
