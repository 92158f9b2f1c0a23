"""Extract-stage speed: a plain warcio + lxml extractor against ours (iter_warc), side by side
in one process on the same replayed WARC; both must emit the same pair set.

The input is built from the HTML responses of the development WARCs in ../shared/data/warc:
each page is written --n times (request, response, metadata records, as Common Crawl does)
under a rewritten target URI, so relative image URLs differ from copy to copy.
Prints one JSON object on stdout; rates are per CPU second of this process (per core).

    .venv/bin/python bench/extract.py --n 1000
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import lxml.html
from lxml import etree
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from operators.base import FunnelCounts  # noqa: E402
from operators.extract.alt_text import iter_warc, normalize_alt  # noqa: E402
from operators.extract.config import ExtractConfig  # noqa: E402
from operators.extract.content import charset_from_content_type, decode_html, is_html  # noqa: E402
from operators.extract.urls import document_base, image_url  # noqa: E402

SHARED_WARCS = REPO.parent / "shared" / "data" / "warc"
_LXML_PARSER = lxml.html.HTMLParser(encoding="utf-8")
_DROPPED_HEADERS = ("transfer-encoding", "content-encoding", "content-length")


# ----------------------------------------------------------------------------- input


def source_pages(warc_dir: Path) -> list[tuple[str, list[tuple[str, str]], bytes]]:
    """(target URI, HTTP headers, decoded payload) of every HTTP 200 HTML response."""
    pages = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                http = record.http_headers
                if record.rec_type != "response" or http is None or http.get_statuscode() != "200":
                    continue
                payload = record.content_stream().read()
                if payload.strip() and is_html(http.get_header("content-type"), payload):
                    headers = [(k, v) for k, v in http.headers if k.lower() not in _DROPPED_HEADERS]
                    pages.append((record.rec_headers.get_header("WARC-Target-URI"), headers, payload))
    return pages


def replay_uri(uri: str, copy: int) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, f"r{copy}.{parts.netloc}", parts.path, parts.query, ""))


def write_replay_warc(path: Path, pages, n: int) -> int:
    """Write n pages (cycling through `pages`); returns the uncompressed payload bytes."""
    payload_bytes = 0
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for copy in range(n):
            uri, headers, payload = pages[copy % len(pages)]
            uri = replay_uri(uri, copy)
            request = StatusAndHeaders(f"GET {urlsplit(uri).path or '/'} HTTP/1.1", [("Host", urlsplit(uri).netloc)],
                                       is_http_request=True)
            writer.write_record(writer.create_warc_record(uri, "request", http_headers=request))
            http = StatusAndHeaders("200 OK", headers + [("Content-Length", str(len(payload)))], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(payload),
                                                          http_headers=http))
            meta = "fetchTimeMs: 120\ncharset-detected: UTF-8\n".encode()
            writer.write_record(writer.create_warc_record(uri, "metadata", payload=io.BytesIO(meta),
                                                          warc_content_type="application/warc-fields"))
            payload_bytes += len(payload) + len(meta)
    return payload_bytes


# ----------------------------------------------------------------------------- baseline


def baseline_pairs(path: Path) -> tuple[set[tuple[str, str, str]], int]:
    """Plain warcio + lxml: every response, lxml.html parse, //img[@alt], same URL/alt rules."""
    pairs: set[tuple[str, str, str]] = set()
    records = 0
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream):
            records += 1
            http = record.http_headers
            if record.rec_type != "response" or http is None or not http.get_statuscode().startswith("2"):
                continue
            content_type = http.get_header("content-type")
            payload = record.content_stream().read()
            if not is_html(content_type, payload):
                continue
            text = decode_html(payload, charset_from_content_type(content_type))
            if text is None:
                continue
            try:
                doc = lxml.html.document_fromstring(text.encode("utf-8"), parser=_LXML_PARSER)
            except (etree.ParserError, ValueError):
                continue
            page_url = record.rec_headers.get_header("WARC-Target-URI")
            hrefs = doc.xpath("//base[@href]/@href")
            base = document_base(hrefs[0] if hrefs else None, page_url)
            for img in doc.xpath("//img[@alt]"):
                alt = normalize_alt(img.get("alt"))
                url = image_url(img.attrib, base) if alt else None
                if url is not None:
                    pairs.add((page_url, url, alt))
    return pairs, records


def ours_pairs(path: Path, engine: str) -> tuple[set[tuple[str, str, str]], int]:
    counts = FunnelCounts()
    pairs = {
        (row["page_url"], row["url"], row["text"])
        for kind, row in iter_warc(str(path), ExtractConfig(engine=engine), counts)
        if kind == "pair"
    }
    return pairs, counts.rows_in["extract"]


def run_interleaved(runs: dict, repeat: int) -> dict:
    """{name: (result, best CPU s, best wall s)}, running the extractors round-robin so a
    busy spell on a shared machine hits them alike. CPU time is the per-core cost and is
    what the ratios use."""
    best = {name: [None, float("inf"), float("inf")] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            cpu, wall = time.process_time(), time.perf_counter()
            best[name][0] = run()
            best[name][1] = min(best[name][1], time.process_time() - cpu)
            best[name][2] = min(best[name][2], time.perf_counter() - wall)
    return {name: tuple(value) for name, value in best.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="pages in the replayed WARC")
    parser.add_argument("--repeat", type=int, default=3, help="runs per extractor; the best counts")
    parser.add_argument("--warc-dir", type=Path, default=SHARED_WARCS)
    args = parser.parse_args()

    pages = source_pages(args.warc_dir)
    if not pages:
        print(json.dumps({"error": f"no HTML pages in {args.warc_dir}"}))
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        warc = Path(tmp) / "replay.warc.gz"
        payload_mb = write_replay_warc(warc, pages, args.n) / 1e6
        results = run_interleaved(
            {
                "warcio_lxml": lambda: baseline_pairs(warc),
                "ours_fastwarc": lambda: ours_pairs(warc, "fastwarc"),
                "ours_warcio": lambda: ours_pairs(warc, "warcio"),
            },
            args.repeat,
        )
        compressed_mb = warc.stat().st_size / 1e6
    reference = results["warcio_lxml"][0][0]
    same = all(pairs == reference for (pairs, _), _, _ in results.values())
    report: dict = {
        "input": {"pages": args.n, "distinct_pages": len(pages), "payload_mb": round(payload_mb, 2),
                  "compressed_mb": round(compressed_mb, 2)},
        "same_pairs": same,
    }
    for name, ((pairs, records), cpu_s, wall_s) in results.items():
        report[name] = {"cpu_s": round(cpu_s, 3), "wall_s": round(wall_s, 3), "records": records,
                        "records_per_s": round(records / cpu_s, 1), "mb_per_s": round(payload_mb / cpu_s, 2),
                        "pairs": len(pairs)}
    base_s = results["warcio_lxml"][1]
    report["ratio_vs_warcio_lxml"] = round(base_s / results["ours_fastwarc"][1], 2)
    report["ours_warcio_ratio_vs_warcio_lxml"] = round(base_s / results["ours_warcio"][1], 2)
    print(json.dumps(report))
    if not same:
        for name, ((pairs, _), _, _) in results.items():
            print(f"{name}: {len(pairs - reference)} extra, {len(reference - pairs)} missing vs warcio_lxml: "
                  f"{sorted(pairs ^ reference)[:5]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
