"""Image download throughput: our fetch + image stages vs img2dataset vs a bare aiohttp loop,
same URLs, one run.

    bench/setup-bench.sh            # once: img2dataset into .venv-bench (optional)
    .venv/bin/python bench/fetch.py --n 3000

A loopback server (its own process, bound on 127.0.0.1..127.0.0.H so URLs span H hosts) serves
real JPEGs of 20-80 KB after 20-200 ms; ~5 % of URLs are 404 and ~2 % answer after 3 s.
  ours          what the job runs per URL: the fetch actor's FetchDecoder (default FetchConfig:
                256 in flight per fetcher, 8 per host, SSRF guard on), which runs ImageDecoder
                (header checks, one decode, pHash) on each download as it ends, one decode at a
                time per process. --processes processes (one per core) pull batches of
                --batch-size from one queue, each running --batches-in-flight batches at once on
                one fetcher, as the job's threaded fetch actor does (fetch.batches_per_actor).
  ours_fetch_only  the same with HttpFetcher alone (no image stage): the most ours can reach
                under the same limits, reported as fetch_only_bound_vs_img2dataset
  ours_ray      (--ray) the job's own stage in local Ray: the FetchDecoder actor pool with
                configs/local.yaml resources; start-up included
  img2dataset   its `download` in .venv-bench, processes_count=2, best of thread_count 16/64/128,
                twice: with its default processing (decode, resize to 256, re-encode: what its
                users run, and what its 150-170 images/s measured beforehand on this machine
                class is) and with resize_mode="no" + disable_all_reencoding (download only, no
                decode: the view kindest to it, reported as ratio_vs_img2dataset_no_reencode)
  bare_aiohttp  one asyncio loop, 128 in flight, read the body, nothing else: the ceiling
Every tool must succeed on exactly the non-404 URLs; ours must give each the pHash of the bytes
served (imagehash's), the bare loop the served bytes. Prints one JSON object (images/s =
successful downloads per second).
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
        if max(ch, cw) > 3 * min(ch, cw):
            continue  # COYO drops aspect ratios over 3: every payload must be a keeper
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
    phashes: dict[str, str]  # the same URLs -> imagehash's pHash of those bytes

    @property
    def hosts(self) -> set[str]:
        return {u.split("/")[2] for u in self.urls}


def workload(n: int, port: int, hosts: int, payloads: list[bytes], seed: int = 1) -> Workload:
    import imagehash
    from PIL import Image

    rng = random.Random(seed)
    digests = [hashlib.sha1(p).hexdigest() for p in payloads]
    hashes = [str(imagehash.phash(Image.open(io.BytesIO(p)))) for p in payloads]
    urls, expected, phashes = [], {}, {}
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
        phashes[url] = hashes[v]
    return Workload(urls, expected, phashes)


def start_server(hosts: int, image_dir: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.fetch.server", "--hosts", str(hosts), "--image-dir",
                             str(image_dir)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"fault server did not start: {line!r}")
    return proc, int(line.split()[1])


def check(name: str, ok: dict[str, str | None], work: Workload, against: str = "expected") -> bool:
    """True if `ok` (URL -> sha1, or pHash with against="phashes", or None when the tool returns
    neither) has exactly the expected successes with the expected values."""
    want = getattr(work, against)
    if set(ok) != set(want):
        print(f"{name}: {len(set(ok) ^ set(want))} URLs differ from the expected successes", file=sys.stderr)
        return False
    bad = [u for u, value in ok.items() if value is not None and value != want[u]]
    if bad:
        print(f"{name}: {len(bad)} results differ from the served bytes' {against}", file=sys.stderr)
    return not bad


# ----------------------------------------------------------------------------- (a) ours


def _ours_worker(cfg: FetchConfig, batches_in_flight: int, decode: bool, jobs, results, start) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"  # as Ray sets it for a one-CPU task (before torch loads)
    from operators.base import batch_to_rows, rows_to_batch
    from operators.fetch.http import HttpFetcher
    from operators.fetch.streaming import FetchDecoder
    from operators.images import ImageConfig, ImageDecoder

    # the job's fetch actor: FetchDecoder (download, then checks + decode + pHash as each ends);
    # decode=False: its HttpFetcher alone
    stage = FetchDecoder(cfg, ImageConfig()) if decode else HttpFetcher(cfg)
    ImageDecoder(ImageConfig())(rows_to_batch([{"image_bytes": jpeg_payloads(1)[0]}]))  # one-off: imports, self-check

    def loop() -> None:
        while (urls := jobs.get()) is not None:
            rows = batch_to_rows(stage(rows_to_batch([{"url": u} for u in urls])))
            results.put([(r["url"], r["fetch_status"], r.get("drop_reason"), r.get("image_phash")) for r in rows])

    results.put(("ready", os.getpid()))
    start.wait()
    results.put(("start", time.time()))
    cpu = time.process_time()
    with ThreadPoolExecutor(batches_in_flight) as pool:
        for future in [pool.submit(loop) for _ in range(batches_in_flight)]:
            future.result()
    results.put(("cpu", time.process_time() - cpu))
    results.put(("end", time.time()))
    stage.close()


def run_ours(work: Workload, cfg: FetchConfig, processes: int, batches_in_flight: int, decode: bool = True) -> dict:
    """`decode=False`: HttpFetcher alone (no image stage), the most `ours` can reach under the
    same limits (concurrency, per-host cap) whatever the decode costs."""
    ctx = mp.get_context("spawn")
    jobs, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    for i in range(0, len(work.urls), cfg.batch_size):
        jobs.put(work.urls[i:i + cfg.batch_size])
    for _ in range(processes * batches_in_flight):
        jobs.put(None)
    procs = [ctx.Process(target=_ours_worker, args=(cfg, batches_in_flight, decode, jobs, results, start))
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
    ok = {u: phash for u, status, reason, phash in rows if status == "ok" and _live(reason)}
    statuses = Counter(status if _live(reason) else reason for _, status, reason, _ in rows)
    return {"seconds": round(seconds, 2), "successes": len(ok), "images_per_s": round(len(ok) / seconds, 1),
            "cpu_ms_per_image": round(1000 * sum(events["cpu"]) / len(ok), 2),
            "statuses": dict(sorted(statuses.items())), "processes": processes,
            "batches_in_flight_per_process": batches_in_flight,
            # what the limits allow at once: the per-host cap binds first when the URLs span few hosts
            "in_flight": processes * min(cfg.concurrency, len(work.hosts) * cfg.per_host_concurrency),
            "per_host_per_process": cfg.per_host_concurrency,
            "same_result": check("ours" if decode else "ours_fetch_only", ok, work, against="phashes")}


def _live(reason) -> bool:
    return not (isinstance(reason, str) and reason)


# ----------------------------------------------------------------------------- (a') ours in Ray


def run_ours_ray(work: Workload, guard: dict) -> dict:
    """The job's fetch and image stages as the job builds them, in local Ray on 2 CPUs with the
    resources of configs/local.yaml (SSRF guard on, loopback allowed, like `ours`)."""
    import dataclasses as dc

    import ray

    from jobs.adapter import apply_pool
    from jobs.config import load_config
    from operators.fetch.streaming import FetchDecoder

    cfg = load_config()
    fetch_cfg = dc.replace(cfg.fetch, **guard)
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False

    def stages(urls: list[str]) -> "ray.data.Dataset":
        ds = ray.data.from_items([{"url": u} for u in urls], override_num_blocks=max(1, len(urls) // 250))
        kwargs = {"fetch": fetch_cfg, "image": cfg.image}
        return apply_pool(ds, FetchDecoder, FetchDecoder(**kwargs).resources(), kwargs)

    stages(work.urls[:50]).materialize()  # Ray's workers started once, as on a running cluster
    begin = time.time()
    rows = stages(work.urls).take_all()
    seconds = time.time() - begin
    ok = {r["url"]: r["image_phash"] for r in rows if r["fetch_status"] == "ok" and _live(r.get("drop_reason"))}
    return {"seconds": round(seconds, 2), "successes": len(ok), "images_per_s": round(len(ok) / seconds, 1),
            "fetch_actors": [fetch_cfg.min_actors, fetch_cfg.max_actors], "batches_per_actor": fetch_cfg.batches_per_actor,
            "actor_cpus": fetch_cfg.actor_cpus, "same_result": check("ours_ray", ok, work, against="phashes")}


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
processing = {"default": {}, "no_reencode": {"resize_mode": "no", "disable_all_reencoding": True,
                                             "compute_hash": None, "extract_exif": False}}[sys.argv[5]]
download(url_list=sys.argv[1], input_format="txt", output_folder=sys.argv[2], output_format="files",
         processes_count=2, thread_count=int(sys.argv[3]), number_sample_per_shard=int(sys.argv[4]),
         timeout=10, retries=0, enable_wandb=False, distributor="multiprocessing", **processing)
"""
IMG2DATASET_MODES = ("default", "no_reencode")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _img2dataset(urls: list[str], out: Path, threads: int, mode: str) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run img2dataset on `urls` in two shards (one per process): (process, wall s, CPU s of its tree)."""
    url_file = out.with_suffix(".txt")
    url_file.write_text("\n".join(urls) + "\n")
    per_shard = -(-len(urls) // 2)
    begin, cpu = time.time(), _children_cpu()
    proc = subprocess.run([str(BENCH_PYTHON), "-c", IMG2DATASET, str(url_file), str(out), str(threads),
                           str(per_shard), mode], capture_output=True, text=True,
                          env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "WANDB_MODE": "disabled"})
    return proc, time.time() - begin, _children_cpu() - cpu


def img2dataset_fixed_cpu(work: Workload, tmp: Path) -> float:
    """CPU seconds an img2dataset run costs whatever its size (it spawns a pool and a logger that
    each import it): measured on two URLs, subtracted from the real runs' CPU."""
    _, _, cpu = _img2dataset(list(work.expected)[:2], tmp / "img2dataset-fixed", 16, "no_reencode")
    return cpu


def img2dataset_unavailable() -> str | None:
    if not BENCH_PYTHON.exists():
        return f"{BENCH_PYTHON} missing: run bench/setup-bench.sh"
    probe = subprocess.run([str(BENCH_PYTHON), "-c", "import img2dataset"], capture_output=True, text=True,
                           env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"})
    return None if probe.returncode == 0 else f"import img2dataset failed: {probe.stderr.strip()[-300:]}"


def run_img2dataset(work: Workload, threads: int, mode: str, tmp: Path, fixed_cpu: float) -> dict:
    import pyarrow.parquet as pq

    out = tmp / f"img2dataset-{mode}-{threads}"
    proc, wall, cpu = _img2dataset(work.urls, out, threads, mode)
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
            # its start-up CPU, measured once, varies by more than a fast run's per-image CPU: no figure then
            "cpu_ms_per_image": round(1000 * cpu / successes, 2) if cpu > 0 else None, "in_flight": 2 * threads,
            "same_result": check(f"img2dataset/{mode}/{threads}", ok, work)}


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="URLs")
    parser.add_argument("--hosts", type=int, default=16, help="loopback addresses the URLs spread over")
    parser.add_argument("--processes", type=int, default=2, help="ours: fetch processes")
    parser.add_argument("--batches-in-flight", type=int, default=FetchConfig.batches_per_actor,
                        help="ours: batches each process runs at once (fetch.batches_per_actor)")
    parser.add_argument("--batch-size", type=int, default=FetchConfig.batch_size)
    parser.add_argument("--concurrency", type=int, default=FetchConfig.concurrency, help="ours: in flight per process")
    parser.add_argument("--per-host-concurrency", type=int, default=FetchConfig.per_host_concurrency,
                        help="ours: in flight per host per process (the default is the politeness cap)")
    parser.add_argument("--img2dataset-modes", default=",".join(IMG2DATASET_MODES),
                        help="img2dataset processing: default (resize + re-encode) and/or no_reencode")
    parser.add_argument("--bare-concurrency", type=int, default=128)
    parser.add_argument("--img2dataset-threads", default="16,64,128")
    parser.add_argument("--repeat", type=int, default=3, help="ours and bare: best of at least this many runs")
    parser.add_argument("--skip-img2dataset", action="store_true")
    parser.add_argument("--ray", action="store_true",
                        help="also run the job's own stages in local Ray (ours_ray; start-up included)")
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
            guard = {"allow_private_networks": False, "allowed_networks": ("127.0.0.0/8",)}
            cfg = FetchConfig(**guard, batch_size=args.batch_size, concurrency=args.concurrency,
                              per_host_concurrency=args.per_host_concurrency)
            reason = "skipped (--skip-img2dataset)" if args.skip_img2dataset else img2dataset_unavailable()
            modes = [m for m in args.img2dataset_modes.split(",") if m]
            unknown = set(modes) - set(IMG2DATASET_MODES)
            if unknown:
                parser.error(f"--img2dataset-modes: unknown {sorted(unknown)}; known: {IMG2DATASET_MODES}")
            i2d_plan = [] if reason else [(m, int(t)) for m in modes for t in args.img2dataset_threads.split(",")]
            fixed_cpu = img2dataset_fixed_cpu(work, tmp) if i2d_plan else 0.0
            bare_runs, ours_runs, fetch_only_runs = [], [], []
            i2d_runs: dict[str, list[dict]] = {m: [] for m in modes}
            # rounds interleave the tools so that all of them see the same swings in machine load
            for round_ in range(max(args.repeat, len(i2d_plan))):
                if round_ < args.repeat:
                    bare_runs.append(run_bare(work, args.bare_concurrency))
                    ours_runs.append(run_ours(work, cfg, args.processes, args.batches_in_flight))
                    fetch_only_runs.append(run_ours(work, cfg, args.processes, args.batches_in_flight, decode=False))
                if round_ < len(i2d_plan):
                    mode, threads = i2d_plan[round_]
                    i2d_runs[mode].append(run_img2dataset(work, threads, mode, tmp, fixed_cpu))
            bare = max(bare_runs, key=lambda r: r["images_per_s"])
            ours = max(ours_runs, key=lambda r: r["images_per_s"])
            fetch_only = max(fetch_only_runs, key=lambda r: r["images_per_s"])
            ours_ray = run_ours_ray(work, guard) if args.ray else None
        finally:
            server.stdin.close()
            server.wait(timeout=30)

    report: dict = {
        "urls": args.n, "hosts": args.hosts, "expected_successes": len(work.expected),
        "payload_kb": [min(len(p) for p in payloads) // 1000, max(len(p) for p in payloads) // 1000],
        "ours": ours, "bare_aiohttp": bare,
        # HttpFetcher alone, same processes and limits, no image stage: what ours tops out at here
        "ours_fetch_only": {k: fetch_only[k] for k in ("seconds", "successes", "images_per_s", "cpu_ms_per_image",
                                                       "in_flight", "same_result")},
        "ours_runs_images_per_s": [r["images_per_s"] for r in ours_runs],
        "bare_runs_images_per_s": [r["images_per_s"] for r in bare_runs],
        "ratio_vs_bare_aiohttp": round(ours["images_per_s"] / bare["images_per_s"], 2),
    }
    if ours_ray:
        report["ours_ray"] = ours_ray
    for mode, runs in i2d_runs.items():
        name = "img2dataset" if mode == "default" else f"img2dataset_{mode}"
        good = [r for r in runs if "images_per_s" in r]
        if reason or not good:
            report[name] = {"available": False, "reason": reason or "every run failed", "runs": runs}
            report[f"ratio_vs_{name}"] = None
            continue
        best = max(good, key=lambda r: r["images_per_s"])
        keys = ("threads", "images_per_s", "successes", "cpu_ms_per_image", "same_result", "error")
        report[name] = {**best, "processing": mode, "runs": [{k: r.get(k) for k in keys if k in r} for r in runs]}
        report[f"ratio_vs_{name}"] = round(ours["images_per_s"] / best["images_per_s"], 2)
        report[f"fetch_only_bound_vs_{name}"] = round(fetch_only["images_per_s"] / best["images_per_s"], 2)
        report[f"cpu_per_image_ratio_vs_{name}"] = (round(best["cpu_ms_per_image"] / ours["cpu_ms_per_image"], 2)
                                                    if best["cpu_ms_per_image"] else None)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
