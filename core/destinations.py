"""Where outbound webhooks may go: never to this machine or a private network (a callback_url pointing there would
let any caller reach services that trust their neighbours) unless the operator allow-listed the destination.

The rules are pure (`destination_refusal` takes the resolved addresses); `refusal_now` resolves the name first, for
the API (at admission) and the worker (again at each delivery, as a name may resolve elsewhere by then).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _internal(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _on_this_machine_or_private_network(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_private or address.is_link_local


def _allowed(host: str, port: int, address: Address, allowed: Iterable[str]) -> bool:
    """An entry names a host (`n8n.internal`), a host and port (`127.0.0.1:5678`), an address or a network
    (`10.1.0.0/16`)."""
    for entry in allowed:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry in (host, f"{host}:{port}"):
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            name, _, entry_port = entry.rpartition(":")
            if entry_port.isdigit() and int(entry_port) == port:
                try:
                    if address == ipaddress.ip_address(name.strip("[]")):
                        return True
                except ValueError:
                    continue
    return False


def target_of(url: str) -> tuple[str, int] | str:
    """(host, port) of an http(s) URL, or why it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as err:
        return f"not a URL ({err})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "only http and https URLs with a host are allowed"
    return parts.hostname.lower(), port


def destination_refusal(url: str, addresses: Iterable[str], allowed: Iterable[str]) -> str | None:
    """Why `url` (its host resolved to `addresses`) may not receive webhooks, or None when it may."""
    target = target_of(url)
    if isinstance(target, str):
        return target
    host, port = target
    resolved = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    if not resolved:
        return f"{host} does not resolve"
    entries = list(allowed)
    for address in resolved:
        if _internal(address) and not _allowed(host, port, address, entries):
            return (
                f"{host} resolves to {address}, an address of this machine or a private network: refused "
                "unless the operator allow-lists it (YTEMPIRE_OUTBOUND_ALLOWED)"
            )
    return None


def private_server_refusal(url: str, addresses: Iterable[str]) -> str | None:
    """Why `url` (its host resolved to `addresses`) is not a server on this machine or a private network, or None
    when every address is loopback, private or link-local."""
    target = target_of(url)
    if isinstance(target, str):
        return target
    resolved = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    if not resolved:
        return f"{target[0]} does not resolve"
    for address in resolved:
        if not _on_this_machine_or_private_network(address):
            return f"{target[0]} resolves to {address}, which is neither this machine nor a private network"
    return None


async def _resolved(url: str) -> list[str] | str:
    """The addresses `url`'s host resolves to now, or why there are none."""
    target = target_of(url)
    if isinstance(target, str):
        return target
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(target[0], target[1], type=socket.SOCK_STREAM)
    except OSError as err:
        return f"{target[0]} does not resolve ({err.strerror or err})"
    return [str(info[4][0]) for info in infos]


async def refusal_now(url: str, allowed: Iterable[str]) -> str | None:
    """`destination_refusal` for `url` as its host resolves now."""
    addresses = await _resolved(url)
    return addresses if isinstance(addresses, str) else destination_refusal(url, addresses, allowed)


async def private_server_refusal_now(url: str) -> str | None:
    """`private_server_refusal` for `url` as its host resolves now."""
    addresses = await _resolved(url)
    return addresses if isinstance(addresses, str) else private_server_refusal(url, addresses)
