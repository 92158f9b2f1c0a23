"""Reading WARC files: which files a run reads, opening them, and their records."""

from operators.readers.warc import (
    ENGINES,
    REASONS,
    STAGE,
    InputError,
    WarcRecord,
    crawl_from_path,
    expand_inputs,
    iter_records,
    open_input,
)

__all__ = [
    "ENGINES",
    "REASONS",
    "STAGE",
    "InputError",
    "WarcRecord",
    "crawl_from_path",
    "expand_inputs",
    "iter_records",
    "open_input",
]
