"""The `fetch` stage: image bytes from the input WARCs (warc_join) or else over HTTP (http)."""

from operators.fetch.config import FetchConfig
from operators.fetch.http import REASONS, FetchResult, HttpFetcher

__all__ = ["FetchConfig", "FetchResult", "HttpFetcher", "REASONS"]
