"""Data centers and their endpoint host names, as the real platform and the clients know them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    openapi_host: str
    message_host: str
    uid_prefix: str

    @property
    def openapi_url(self) -> str:
        return f"https://{self.openapi_host}"


REGIONS: dict[str, Region] = {
    r.code: r
    for r in (
        Region("cn", "China", "openapi.tuyacn.com", "mqe.tuyacn.com", "ay"),
        Region("us", "Western America", "openapi.tuyaus.com", "mqe.tuyaus.com", "az"),
        Region("us-e", "Eastern America", "openapi-ueaz.tuyaus.com", "mqe.tuyaus.com", "az"),
        Region("eu", "Central Europe", "openapi.tuyaeu.com", "mqe.tuyaeu.com", "eu"),
        Region("eu-w", "Western Europe", "openapi-weaz.tuyaeu.com", "mqe.tuyaeu.com", "eu"),
        Region("in", "India", "openapi.tuyain.com", "mqe.tuyain.com", "in"),
        Region("sg", "Singapore", "openapi-sg.iotbing.com", "mqe-sg.iotbing.com", "sg"),
    )
}


def all_host_names() -> list[str]:
    """Every real endpoint host name: the generated TLS certificate lists them all."""
    names = {r.openapi_host for r in REGIONS.values()} | {r.message_host for r in REGIONS.values()}
    return sorted(names)


_RESOLVED_MAX = 1024


class RegionResolver:
    """Maps a request's Host header to a region: real host names, configured aliases, else the default."""

    def __init__(self, default_region: str, aliases: dict[str, str] | None = None) -> None:
        if default_region not in REGIONS:
            raise ValueError(f"unknown region {default_region!r}; known: {', '.join(REGIONS)}")
        self.default_region = default_region
        self._by_host: dict[str, str] = {}
        for region in REGIONS.values():
            self._by_host.setdefault(region.message_host, region.code)
            self._by_host[region.openapi_host] = region.code
            self._by_host[f"{region.code}.localhost"] = region.code
        for host, code in (aliases or {}).items():
            if code not in REGIONS:
                raise ValueError(f"alias {host!r} names unknown region {code!r}")
            self._by_host[host.lower()] = code
        # Host header as sent -> region: a client sends the same one on every request. Bounded, as the header is
        # the client's to choose (emptied when full).
        self._resolved: dict[str, str] = {}

    @staticmethod
    def host_name(host_header: str | None) -> str:
        host = (host_header or "").strip().lower()
        if host.startswith("["):  # IPv6 literal
            return host.split("]")[0] + "]"
        return host.rsplit(":", 1)[0] if host.count(":") == 1 else host

    def resolve(self, host_header: str | None) -> str:
        if not host_header:
            return self.default_region
        region = self._resolved.get(host_header)
        if region is None:
            region = self._by_host.get(self.host_name(host_header), self.default_region)
            if len(self._resolved) >= _RESOLVED_MAX:
                self._resolved.clear()
            self._resolved[host_header] = region
        return region

    def serves_messages_for(self, region: str, host_header: str | None) -> bool:
        """The message hosts are shared (us and us-e both use mqe.tuyaus.com): either match is enough."""
        return self.resolve(host_header) == region or REGIONS[region].message_host == self.host_name(host_header)
