"""The `fetch` stage's HTTP settings: timeouts, retries, limits, politeness and the SSRF guard.

COYO-700M did not publish its downloader's settings; the defaults are img2dataset's where it has
one (10 s timeout) and conservative crawler practice elsewhere.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from operators.config import ConfigError


@dataclass(frozen=True)
class FetchConfig:
    """How `HttpFetcher` downloads the images the input WARCs did not contain."""

    enabled: bool = True
    # in-flight requests per fetch actor (shared by the batches it runs at once); img2dataset's
    # default is 256 threads per process too. 3,000 loopback URLs over 64 hosts: 128 -> 256
    # took a fetch process from ~560 to ~700 images/s (tails overlap more)
    concurrency: int = 256
    per_host_concurrency: int = 8  # in-flight requests per host name, per fetch actor (not cluster-wide)
    connect_timeout: float = 5.0  # DNS + TCP (+ TLS) connect, seconds
    read_timeout: float = 10.0  # longest silence between two reads of headers or body
    total_timeout: float = 20.0  # one URL from first request to last byte: redirects, retries, waits
    retries: int = 2  # extra attempts on timeouts, 5xx and 429
    backoff: float = 1.0  # wait before the first retry; doubled for each further one
    max_retry_after: float = 10.0  # a 429/503 asking to wait longer than this is not retried
    max_redirects: int = 5
    max_bytes: int = 20_000_000  # body limit: rejected early on Content-Length, aborted past it
    content_types: tuple[str, ...] = ("image/",)  # Content-Type prefixes accepted; others: not_image
    user_agent: str = "ccpairs/0.1 (+https://github.com/ccpairs/ccpairs)"
    # X-Robots-Tag opt-outs, generic or scoped to our token (the user agent's product name)
    respect_opt_outs: bool = True
    opt_out_directives: tuple[str, ...] = ("noai", "noimageai", "noindex", "noimageindex", "none")
    # SSRF guard: loopback, private, link-local, multicast, reserved, unspecified addresses are
    # refused on every hop unless allow_private_networks; allowed_networks exempts CIDRs you own
    # (an internal image mirror) while the guard stays on.
    allow_private_networks: bool = False
    allowed_networks: tuple[str, ...] = ()
    batch_size: int = 256
    # The stage runs on an actor pool (long-lived clients keep their connections and DNS cache);
    # each actor runs batches_per_actor batches at once on threads, sharing its `concurrency`,
    # so a batch waiting on a few slow hosts never leaves the actor's connections idle. When the
    # image stage runs too, the same actors decode each image as its download ends (FetchDecoder),
    # one image at a time per actor: about one core of decoding next to the network thread.
    min_actors: int = 1
    max_actors: int = 4  # the pool grows to this while batches queue up and Ray's budget allows
    # 8 x 256 rather than 4 x 512: the same URLs per actor, but a straggler holds back fewer
    # finished rows (15,000 loopback URLs in local Ray: ~500 -> ~550 images/s)
    batches_per_actor: int = 8
    actor_cpus: float = 1.0  # the decoding is CPU bound; `--until fetch` alone would need far less

    def __post_init__(self) -> None:
        if self.max_actors < self.min_actors:
            raise ConfigError(f"fetch.max_actors ({self.max_actors}) must be >= fetch.min_actors ({self.min_actors})")
        if not 0 < self.actor_cpus:
            raise ConfigError(f"fetch.actor_cpus must be > 0, got {self.actor_cpus}")
        for name in ("concurrency", "per_host_concurrency", "batch_size", "max_bytes", "min_actors",
                     "batches_per_actor"):
            if getattr(self, name) < 1:
                raise ConfigError(f"fetch.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("retries", "max_redirects"):
            if getattr(self, name) < 0:
                raise ConfigError(f"fetch.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"fetch.{name} must be > 0 seconds, got {getattr(self, name)}")
        for name in ("backoff", "max_retry_after"):
            if getattr(self, name) < 0:
                raise ConfigError(f"fetch.{name} must be >= 0 seconds, got {getattr(self, name)}")
        if not self.user_agent.strip():
            raise ConfigError("fetch.user_agent must not be empty: servers need to know who fetches")
        for cidr in self.allowed_networks:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ConfigError(f"fetch.allowed_networks: {cidr!r} is not an IP network") from None
