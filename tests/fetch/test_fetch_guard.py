"""SSRF guard rules on addresses and resolver answers (no network)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from operators.fetch.guard import AddressPolicy, BlockedAddressError, GuardedResolver, check_host, is_public

REFUSED = ["127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.0.1", "169.254.169.254", "0.0.0.0",
           "100.64.0.1", "224.0.0.251", "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1",
           "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_refused_addresses(address):
    assert not is_public(ipaddress.ip_address(address))
    assert not AddressPolicy().permits(ipaddress.ip_address(address))
    assert AddressPolicy(allow_private=True).permits(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address):
    assert is_public(ipaddress.ip_address(address))


def test_allowed_networks_exempt_only_themselves():
    policy = AddressPolicy.from_config(False, ["10.1.0.0/16", "fd00::/8"])
    assert policy.permits(ipaddress.ip_address("10.1.200.3"))
    assert policy.permits(ipaddress.ip_address("fd12::1"))
    assert not policy.permits(ipaddress.ip_address("10.2.0.1"))
    assert not policy.permits(ipaddress.ip_address("127.0.0.1"))


@pytest.mark.parametrize("host,reason", [
    ("images.invalid", "dns_error"), ("INVALID", "dns_error"), ("a.b.invalid.", "dns_error"),
    ("127.0.0.1", "blocked_address"), ("[::1]", "blocked_address"), ("169.254.169.254", "blocked_address"),
    ("example.com", None), ("8.8.8.8", None), ("invalid.example.com", None),
])
def test_check_host(host, reason):
    assert check_host(host, AddressPolicy()) == reason


def resolve(answers, policy=AddressPolicy()):
    async def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, scope) if ":" in a else (a, port)) for a, scope in answers]

    return asyncio.run(GuardedResolver(policy, getaddrinfo).resolve("h.example", 80, family=0))


def test_resolver_keeps_only_permitted_addresses():
    result = resolve([("10.0.0.1", 0), ("93.184.216.34", 0), ("::1", 0), ("2606:4700::1", 0)])
    assert [r["host"] for r in result] == ["93.184.216.34", "2606:4700::1"]
    assert all(r["hostname"] == "h.example" and r["port"] == 80 for r in result)


def test_resolver_refuses_a_name_with_only_private_addresses():
    with pytest.raises(BlockedAddressError) as info:
        resolve([("10.0.0.1", 0), ("169.254.169.254", 0)])
    assert info.value.addresses == ("10.0.0.1", "169.254.169.254")


def test_resolver_refuses_scoped_ipv6_even_when_private_allowed():
    with pytest.raises(BlockedAddressError):
        resolve([("fe80::1", 2)], AddressPolicy(allow_private=True))
