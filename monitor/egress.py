"""Which way a request leaves: directly, or through the egress proxy (SPEC section 2).

A ``proxy:`` setting (in ``defaults``, on a source, on a webhook channel) is a proxy URL
(``http://``, ``https://``, ``socks5://``, ``socks5h://``; credentials as ``${VAR}``), ``env``
for the standard variables (``HTTPS_PROXY`` for https URLs, ``HTTP_PROXY`` for http ones,
``ALL_PROXY`` for both, ``NO_PROXY``; lower-case names too, read when a request is made),
or ``none``. ``no_proxy`` hosts are reached directly, as curl reads ``NO_PROXY``:

- ``example.org`` or ``.example.org``: that host and every host under it;
- ``example.org:8443``: only that port;
- an address or a network (``10.0.0.0/8``, ``::1``): hosts written as such an address;
- ``*``: every host (the proxy is never used).

A source or webhook channel takes the defaults' ``proxy`` and ``no_proxy`` unless it sets
its own (each of the two on its own). With ``env``, ``NO_PROXY``'s hosts are added to
``no_proxy``'s.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_problem(value: str) -> str | None:
    """Why ``value`` is not a ``proxy:`` setting, or None. The message never holds the
    URL's credentials."""
    if value in ("env", "none"):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname:
        return (
            "invalid proxy: use env, none, or a URL such as http://proxy.example:3128 "
            "(http, https, socks5 or socks5h; credentials as ${VAR})"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "invalid proxy: give only scheme://host:port, without a path"
    return None


def _proxy_variables() -> dict[str, str]:
    # urllib.request (http.client, email) loads only for ``proxy: env``: the config model
    # imports this module, and a report such as ``monitor sources`` needs neither
    import urllib.request

    return urllib.request.getproxies_environment()


def env_problem() -> str | None:
    """For ``proxy: env``: why the proxy variables cannot be used, or None (also when none
    is set: then requests go directly, which ``monitor check`` warns about)."""
    found = _proxy_variables()
    for scheme in ("https", "http", "all"):
        value = _with_scheme(found.get(scheme))
        problem = value and proxy_problem(value)
        if problem:
            return f"proxy: env, but {scheme.upper()}_PROXY is not usable: {problem}"
    return None


def no_proxy_problem(entry: str) -> str | None:
    """Why ``entry`` is not a ``no_proxy`` host, or None."""
    if entry == "*":
        return None
    if _network(entry) is not None:
        return None
    host, port = _host_and_port(entry)
    if _address(host) is not None:  # [::1]:8080
        host = "address"
    label = host.lstrip(".").replace("-", "").replace("_", "")
    if (port is not None and not port.isdigit()) or not all(
        part.isalnum() for part in label.split(".")
    ):
        return (
            f"invalid no_proxy host {entry!r}: use a host name, host:port, an address or a network"
        )
    return None


@dataclass(frozen=True, slots=True)
class Egress:
    """A resolved route: the proxy per URL scheme, and the hosts reached directly."""

    http: str | None = None
    https: str | None = None
    no_proxy: tuple[str, ...] = ()

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL to send a request to ``url`` through, or None for direct."""
        parts = urlsplit(url)
        secure = parts.scheme.lower() == "https"
        proxy = self.https if secure else self.http
        port = parts.port or (443 if secure else 80)
        if proxy is None or _bypassed(parts.hostname or "", port, self.no_proxy):
            return None
        return proxy


DIRECT = Egress()


def resolve(setting: str, no_proxy: Sequence[str]) -> Egress:
    """The route for a ``proxy:`` setting (checked by ``proxy_problem``) and its hosts."""
    if setting == "none":
        return DIRECT
    if setting != "env":
        return Egress(setting, setting, tuple(no_proxy))
    # the standard variables, lower-case first as curl and Python read them; HTTP_PROXY is
    # ignored under CGI (a request's "Proxy:" header would set it)
    found = _proxy_variables()
    every = found.get("all")
    hosts = [h.strip() for h in found.get("no", "").split(",") if h.strip()]
    return Egress(
        _with_scheme(found.get("http") or every),
        _with_scheme(found.get("https") or every),
        (*no_proxy, *hosts),
    )


def _with_scheme(proxy: str | None) -> str | None:
    # curl and requests read "proxy.example:3128" as an http:// proxy
    if proxy and "://" not in proxy:
        return f"http://{proxy}"
    return proxy or None


def _bypassed(host: str, port: int, no_proxy: Sequence[str]) -> bool:
    host = host.lower().rstrip(".")
    address = _address(host)
    for entry in no_proxy:
        entry = entry.strip().lower()
        if entry == "*":
            return True
        network = _network(entry)
        if network is not None:
            if address is not None and address in network:
                return True
            continue
        name, wanted_port = _host_and_port(entry)
        name = name.lstrip(".").rstrip(".")
        if wanted_port is not None and str(port) != wanted_port:
            continue
        if host == name or host.endswith("." + name):
            return True
    return False


def _host_and_port(entry: str) -> tuple[str, str | None]:
    if entry.startswith("["):  # [::1]:8080
        host, _, rest = entry[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, port
    return entry, None


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _network(entry: str) -> _Network | None:
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None
