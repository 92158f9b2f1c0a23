"""SSRF guard: image URLs come from arbitrary web pages, so no hop may reach a private address.

Every hop's host is resolved by `GuardedResolver`, the addresses are checked, and aiohttp
connects to exactly the checked addresses (the resolver's answer is what the connector uses),
so a DNS answer that changes between check and connect (DNS rebinding) cannot slip through.
IP-literal hosts skip aiohttp's resolver, so `check_host` checks them before any request.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable

from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port, family=..., type=..., proto=..., flags=...) -> getaddrinfo tuples, like loop.getaddrinfo
GetAddrInfo = Callable[..., Awaitable[list[tuple[Any, ...]]]]


class BlockedAddressError(OSError):
    """A host resolved only to addresses the guard refuses."""

    def __init__(self, host: str, addresses: Iterable[str]) -> None:
        self.host = host
        self.addresses = tuple(addresses)
        super().__init__(f"{host} resolves only to refused addresses {list(self.addresses)}")


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses a fetch may connect to."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_config(cls, allow_private: bool, allowed_networks: Iterable[str]) -> "AddressPolicy":
        return cls(allow_private, tuple(ipaddress.ip_network(c, strict=False) for c in allowed_networks))

    def permits(self, ip: IPAddress) -> bool:
        if self.allow_private or is_public(ip):
            return True
        return any(ip.version == net.version and ip in net for net in self.allowed_networks)


def is_public(ip: IPAddress) -> bool:
    """False for loopback, private, link-local (cloud metadata), multicast, reserved, unspecified."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    refused = (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
               or ip.is_reserved or ip.is_unspecified)
    return ip.is_global and not refused


def parse_ip(host: str) -> IPAddress | None:
    """The address if `host` is an IP literal (IPv6 with or without brackets), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_host(host: str, policy: AddressPolicy) -> str | None:
    """Checks that need no DNS: a reason ("dns_error" / "blocked_address") or None."""
    name = host.rstrip(".").lower()
    if name == "invalid" or name.endswith(".invalid"):
        return "dns_error"  # RFC 6761: never resolves; answer without asking anyone
    ip = parse_ip(name)
    if ip is not None and not policy.permits(ip):
        return "blocked_address"
    return None


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that returns only the addresses the policy permits (the pinned ones)."""

    def __init__(self, policy: AddressPolicy, getaddrinfo: GetAddrInfo) -> None:
        self._policy = policy
        self._getaddrinfo = getaddrinfo

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        infos = await self._getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
        permitted: list[ResolveResult] = []
        refused: list[str] = []
        for fam, _, proto, _, sockaddr in infos:
            address, resolved_port = sockaddr[0], sockaddr[1]
            if fam == socket.AF_INET6 and len(sockaddr) >= 4 and sockaddr[3]:
                refused.append(address)  # scoped (link-local) IPv6: never an image host
                continue
            ip = parse_ip(address)
            if ip is None or not self._policy.permits(ip):
                refused.append(address)
                continue
            permitted.append(ResolveResult(hostname=host, host=address, port=resolved_port, family=fam,
                                           proto=proto, flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV))
        if not permitted:
            if refused:
                raise BlockedAddressError(host, refused)
            raise OSError(f"{host} has no addresses")
        return permitted

    async def close(self) -> None:
        return None
