"""Settings of the extract stage (WARC reading and alt-text pairs), loaded from YAML."""

from __future__ import annotations

from dataclasses import dataclass

from operators.config import ConfigError
from operators.readers.warc import ENGINES


@dataclass(frozen=True)
class ExtractConfig:
    engine: str = "fastwarc"  # WARC record parser: "fastwarc" or "warcio" (same output)
    max_html_bytes: int = 5_000_000  # larger HTML payloads are skipped (html_too_large)
    keep_image_records: bool = True  # emit image response records for the WARC image join
    max_image_bytes: int = 20_000_000  # larger image payloads are skipped (image_too_large)
    io_retries: int = 3  # retries of transient storage errors per open/read

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"extract.engine: {self.engine!r} is not one of {list(ENGINES)}")
        for name in ("max_html_bytes", "max_image_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"extract.{name} must be positive, got {getattr(self, name)}")
        if self.io_retries < 0:
            raise ConfigError(f"extract.io_retries must be >= 0, got {self.io_retries}")
