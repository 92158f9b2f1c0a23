"""Image download throughput: HttpFetcher vs img2dataset vs a bare aiohttp loop, same URLs, one run.

    bench/setup-bench.sh            # once: img2dataset into .venv-bench (optional)
    .venv/bin/python bench/fetch.py --n 3000

A loopback server (its own process, bound on 127.0.0.1..127.0.0.H so URLs span H hosts) serves
real JPEGs of 20-80 KB after 20-200 ms; ~5 % of URLs are 404 and ~2 % answer after 3 s.
  ours          HttpFetcher with the default FetchConfig (64 in flight per process, 8 per host),
                batches of --batch-size pulled from one queue by --processes processes, each
                running --batches-in-flight batches at once (a threaded Ray actor / several tasks)
  img2dataset   its own CLI function in .venv-bench, processes_count=2, resize_mode="no",
                disable_all_reencoding (no decode, like ours), best of thread_count 16/64/128
  bare_aiohttp  one asyncio loop, 128 in flight, read the body, nothing else: the ceiling
Every tool must succeed on exactly the non-404 URLs (ours and bare: with the served bytes).
Prints one JSON object (images/s = successful downloads per second).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import io
import json
import multiprocessing as mp
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from operators.fetch.config import FetchConfig  # noqa: E402

BENCH_PYTHON = REPO / ".venv-bench" / "bin" / "python"


# ----------------------------------------------------------------------------- workload


def jpeg_payloads(count: int, seed: int = 0) -> list[bytes]:
    """`count` distinct real JPEGs of 20-80 KB: crops of scikit-image's bundled photos."""
    import skimage.data
    from PIL import Image

    photos = [getattr(skimage.data, name)() for name in ("coffee", "chelsea", "rocket", "immunohistochemistry",
                                                          "hubble_deep_field", "retina")]
    rng = random.Random(seed)
    out: list[bytes] = []
    while len(out) < count:
        photo = rng.choice(photos)
        h, w = photo.shape[:2]
        ch, cw = rng.randint(min(h, 250), min(h, 800)), rng.randint(min(w, 250), min(w, 800))
        y, x = rng.randint(0, h - ch), rng.randint(0, w - cw)
        buf = io.BytesIO()
        Image.fromarray(photo[y:y + ch, x:x + cw]).save(buf, format="JPEG", quality=rng.randint(70, 95))
        if 20_000 <= buf.tell() <= 80_000:
            out.append(buf.getvalue())
    return out


@dataclasses.dataclass
class Workload:
    urls: list[str]
    expected: dict[str, str]  # URL that must succeed -> sha1 of the bytes it serves


def workload(n: int, port: int, hosts: int, payloads: list[bytes], seed: int = 1) -> Workload:
    rng = random.Random(seed)
    digests = [hashlib.sha1(p).hexdigest() for p in payloads]
    urls, expected = [], {}
    for i in range(n):
        base = f"http://127.0.0.{i % hosts + 1}:{port}"
        roll = rng.random()
        latency = rng.uniform(0.02, 0.2)
        if roll < 0.05:
            urls.append(f"{base}/status/404?delay={latency:.3f}&i={i}")
            continue
        v = rng.randrange(len(payloads))
        delay = 3.0 if roll < 0.07 else latency
        url = f"{base}/ok.jpg?v={v}&delay={delay:.3f}&i={i}"
        urls.append(url)
        expected[url] = digests[v]
    return Workload(urls, expected)


def start_server(hosts: int, image_dir: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.fetch.server", "--hosts", str(hosts), "--image-dir",
                             str(image_dir)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"fault server did not start: {line!r}")
    return proc, int(line.split()[1])


def check(name: str, ok: dict[str, str | None], work: Workload) -> bool:
    """True if `ok` (URL -> sha1 or None when bytes were not returned) matches the expected set."""
    if set(ok) != set(work.expected):
        print(f"{name}: {len(set(ok) ^ set(work.expected))} URLs differ from the expected successes", file=sys.stderr)
        return False
    bad = [u for u, digest in ok.items() if digest is not None and digest != work.expected[u]]
    if bad:
        print(f"{name}: {len(bad)} bodies differ from the served bytes", file=sys.stderr)
    return not bad


# ----------------------------------------------------------------------------- (a) ours


def _ours_worker(cfg: FetchConfig, batches_in_flight: int, jobs, results, start) -> None:
    from operators.base import rows_to_batch
    from operators.fetch.http import HttpFetcher

    fetcher = HttpFetcher(cfg)

    def loop() -> None:
        while (urls := jobs.get()) is not None:
            out = fetcher(rows_to_batch([{"url": u} for u in urls]))
            results.put([(u, s, hashlib.sha1(b).hexdigest() if s == "ok" else None)
                         for u, s, b in zip(urls, out["fetch_status"], out["image_bytes"])])

    results.put(("ready", os.getpid()))
    start.wait()
    results.put(("start", time.time()))
    cpu = time.process_time()
    with ThreadPoolExecutor(batches_in_flight) as pool:
        for future in [pool.submit(loop) for _ in range(batches_in_flight)]:
            future.result()
    results.put(("cpu", time.process_time() - cpu))
    results.put(("end", time.time()))
    fetcher.close()


def run_ours(work: Workload, cfg: FetchConfig, processes: int, batches_in_flight: int) -> dict:
    ctx = mp.get_context("spawn")
    jobs, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    for i in range(0, len(work.urls), cfg.batch_size):
        jobs.put(work.urls[i:i + cfg.batch_size])
    for _ in range(processes * batches_in_flight):
        jobs.put(None)
    procs = [ctx.Process(target=_ours_worker, args=(cfg, batches_in_flight, jobs, results, start))
             for _ in range(processes)]
    for p in procs:
        p.start()
    events: dict[str, list[float]] = {"ready": [], "start": [], "cpu": [], "end": []}
    rows = []
    while len(events["end"]) < processes:
        item = results.get(timeout=600)
        if isinstance(item, tuple):
            events[item[0]].append(item[1])
            if item[0] == "ready" and len(events["ready"]) == processes:
                start.set()  # every worker has imported and built its fetcher: time only the fetching
        else:
            rows.extend(item)
    for p in procs:
        p.join()
    seconds = max(events["end"]) - min(events["start"])
    ok = {u: digest for u, status, digest in rows if status == "ok"}
    statuses = Counter(status for _, status, _ in rows)
    return {"seconds": round(seconds, 2), "successes": len(ok), "images_per_s": round(len(ok) / seconds, 1),
            "cpu_ms_per_image": round(1000 * sum(events["cpu"]) / len(ok), 2),
            "statuses": dict(sorted(statuses.items())), "processes": processes,
            "batches_in_flight_per_process": batches_in_flight, "in_flight": processes * cfg.concurrency,
            "same_result": check("ours", ok, work)}


# ----------------------------------------------------------------------------- (c) bare aiohttp


async def _bare(urls: list[str], concurrency: int) -> list[tuple[str, int, str | None]]:
    slots = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout) as session:

        async def one(url: str) -> tuple[str, int, str | None]:
            async with slots:
                try:
                    async with session.get(url) as resp:
                        body = await resp.read()
                        return url, resp.status, hashlib.sha1(body).hexdigest() if body else None
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    return url, 0, None

        return list(await asyncio.gather(*(one(u) for u in urls)))


def run_bare(work: Workload, concurrency: int) -> dict:
    begin, cpu = time.time(), time.process_time()
    rows = asyncio.run(_bare(work.urls, concurrency))
    seconds, cpu = time.time() - begin, time.process_time() - cpu
    ok = {u: digest for u, status, digest in rows if status == 200 and digest}  # hashed in the timed loop, like ours
    return {"seconds": round(seconds, 2), "successes": len(ok), "images_per_s": round(len(ok) / seconds, 1),
            "cpu_ms_per_image": round(1000 * cpu / len(ok), 2), "in_flight": concurrency,
            "same_result": check("bare_aiohttp", ok, work)}


# ----------------------------------------------------------------------------- (b) img2dataset

IMG2DATASET = """
import sys
from img2dataset import download
download(url_list=sys.argv[1], input_format="txt", output_folder=sys.argv[2], output_format="files",
         processes_count=2, thread_count=int(sys.argv[3]), number_sample_per_shard=int(sys.argv[4]),
         resize_mode="no", disable_all_reencoding=True, compute_hash=None, extract_exif=False,
         timeout=10, retries=0, enable_wandb=False, distributor="multiprocessing")
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _img2dataset(urls: list[str], out: Path, threads: int) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run img2dataset on `urls` in two shards (one per process): (process, wall s, CPU s of its tree)."""
    url_file = out.with_suffix(".txt")
    url_file.write_text("\n".join(urls) + "\n")
    per_shard = -(-len(urls) // 2)
    begin, cpu = time.time(), _children_cpu()
    proc = subprocess.run([str(BENCH_PYTHON), "-c", IMG2DATASET, str(url_file), str(out), str(threads),
                           str(per_shard)], capture_output=True, text=True,
                          env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "WANDB_MODE": "disabled"})
    return proc, time.time() - begin, _children_cpu() - cpu


def img2dataset_fixed_cpu(work: Workload, tmp: Path) -> float:
    """CPU seconds an img2dataset run costs whatever its size (it spawns a pool and a logger that
    each import it): measured on two URLs, subtracted from the real runs' CPU."""
    _, _, cpu = _img2dataset(list(work.expected)[:2], tmp / "img2dataset-fixed", 16)
    return cpu


def img2dataset_unavailable() -> str | None:
    if not BENCH_PYTHON.exists():
        return f"{BENCH_PYTHON} missing: run bench/setup-bench.sh"
    probe = subprocess.run([str(BENCH_PYTHON), "-c", "import img2dataset"], capture_output=True, text=True,
                           env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"})
    return None if probe.returncode == 0 else f"import img2dataset failed: {probe.stderr.strip()[-300:]}"


def run_img2dataset(work: Workload, threads: int, tmp: Path, fixed_cpu: float) -> dict:
    import pyarrow.parquet as pq

    out = tmp / f"img2dataset-{threads}"
    proc, wall, cpu = _img2dataset(work.urls, out, threads)
    cpu -= fixed_cpu
    stats = [json.loads(p.read_text()) for p in sorted(out.glob("*_stats.json"))]
    if proc.returncode != 0 or not stats:
        return {"threads": threads, "error": (proc.stderr or proc.stdout).strip()[-500:]}
    # its own shard timings: download time without interpreter start-up (the view kindest to it)
    seconds = max(s["end_time"] for s in stats) - min(s["start_time"] for s in stats)
    meta = [pq.read_table(p, columns=["url", "status"]).to_pylist() for p in sorted(out.glob("*.parquet"))]
    ok = {row["url"]: None for rows in meta for row in rows if row["status"] == "success"}
    successes = sum(s["successes"] for s in stats)
    return {"threads": threads, "seconds": round(seconds, 2), "wall_seconds": round(wall, 2),
            "successes": successes, "images_per_s": round(successes / seconds, 1),
            "cpu_ms_per_image": round(1000 * cpu / successes, 2), "in_flight": 2 * threads,
            "same_result": check(f"img2dataset/{threads}", ok, work)}


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="URLs")
    parser.add_argument("--hosts", type=int, default=16, help="loopback addresses the URLs spread over")
    parser.add_argument("--processes", type=int, default=2, help="ours: fetch processes")
    parser.add_argument("--batches-in-flight", type=int, default=2, help="ours: batches each process runs at once")
    parser.add_argument("--batch-size", type=int, default=FetchConfig.batch_size)
    parser.add_argument("--concurrency", type=int, default=FetchConfig.concurrency, help="ours: in flight per process")
    parser.add_argument("--bare-concurrency", type=int, default=128)
    parser.add_argument("--img2dataset-threads", default="16,64,128")
    parser.add_argument("--repeat", type=int, default=3, help="ours and bare: best of at least this many runs")
    parser.add_argument("--skip-img2dataset", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-fetch-") as tmp_name:
        tmp = Path(tmp_name)
        payloads = jpeg_payloads(40)
        (tmp / "images").mkdir()
        for i, data in enumerate(payloads):
            (tmp / "images" / f"{i:03d}.jpg").write_bytes(data)
        server, port = start_server(args.hosts, tmp / "images")
        try:
            work = workload(args.n, port, args.hosts, payloads)
            # the guard stays on: the loopback bench server is exempted like an internal mirror would be
            cfg = FetchConfig(allowed_networks=("127.0.0.0/8",), batch_size=args.batch_size,
                              concurrency=args.concurrency)
            reason = "skipped (--skip-img2dataset)" if args.skip_img2dataset else img2dataset_unavailable()
            threads = [] if reason else [int(t) for t in args.img2dataset_threads.split(",")]
            fixed_cpu = img2dataset_fixed_cpu(work, tmp) if threads else 0.0
            bare_runs, ours_runs, i2d_runs = [], [], []
            # rounds interleave the tools so that all of them see the same swings in machine load
            for round_ in range(max(args.repeat, len(threads))):
                bare_runs.append(run_bare(work, args.bare_concurrency))
                ours_runs.append(run_ours(work, cfg, args.processes, args.batches_in_flight))
                if round_ < len(threads):
                    i2d_runs.append(run_img2dataset(work, threads[round_], tmp, fixed_cpu))
            bare = max(bare_runs, key=lambda r: r["images_per_s"])
            ours = max(ours_runs, key=lambda r: r["images_per_s"])
        finally:
            server.stdin.close()
            server.wait(timeout=30)

    report: dict = {
        "urls": args.n, "hosts": args.hosts, "expected_successes": len(work.expected),
        "payload_kb": [min(len(p) for p in payloads) // 1000, max(len(p) for p in payloads) // 1000],
        "ours": ours, "bare_aiohttp": bare,
        "ours_runs_images_per_s": [r["images_per_s"] for r in ours_runs],
        "bare_runs_images_per_s": [r["images_per_s"] for r in bare_runs],
        "ratio_vs_bare_aiohttp": round(ours["images_per_s"] / bare["images_per_s"], 2),
    }
    good = [r for r in i2d_runs if "images_per_s" in r]
    if reason or not good:
        report["img2dataset"] = {"available": False, "reason": reason or "every run failed", "runs": i2d_runs}
        report["ratio_vs_img2dataset"] = None
    else:
        best = max(good, key=lambda r: r["images_per_s"])
        keys = ("threads", "images_per_s", "successes", "cpu_ms_per_image", "error")
        report["img2dataset"] = {**best, "runs": [{k: r.get(k) for k in keys if k in r} for r in i2d_runs]}
        report["ratio_vs_img2dataset"] = round(ours["images_per_s"] / best["images_per_s"], 2)
        report["cpu_per_image_ratio_vs_img2dataset"] = round(best["cpu_ms_per_image"] / ours["cpu_ms_per_image"], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
