"""The sample job end to end in local Ray: funnel reconciles, rules hold on the output, re-runs skip."""

from __future__ import annotations

import collections

import pytest
from warcio.archiveiterator import ArchiveIterator

from jobs.config import load_config, replace
from jobs.pipeline import run
from jobs.sample import generate_sample
from tests.e2e.helpers import assert_reconciles, read_output, read_stats, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return generate_sample(tmp_path_factory.mktemp("sample"), pages=120, seed=7, files=3)


def _cfg(until: str):
    return replace(load_config(), "job", until=until)


def test_extract_only_keeps_raw_pairs_with_rereadable_provenance(ray_session, sample, tmp_path):
    result = run([str(sample.manifest_path)], str(tmp_path / "out"), _cfg("extract"))
    table = read_output(tmp_path / "out")
    assert {"page_url", "url", "text", "warc_path", "warc_offset", "crawl", "id"} <= set(table.column_names)
    assert result.stats["pairs"]["kept"] == table.num_rows == result.stats["pairs"]["in"]
    assert set(table.column("crawl").to_pylist()) == {"CC-MAIN-2024-10"}
    # warc_offset points at the record the pair came from: re-read three of them
    rows = table.slice(0, 3).to_pylist()
    for row in rows:
        with open(row["warc_path"], "rb") as fh:
            fh.seek(row["warc_offset"])
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-Target-URI") == row["page_url"]


def test_text_stage_applies_coyo_rules_and_reconciles(ray_session, sample, tmp_path):
    out = tmp_path / "out"
    result = run([str(p) for p in sample.warc_paths], str(out), _cfg("text"))
    stats = read_stats(out)
    assert stats == result.stats
    assert_reconciles(stats)
    dropped = stats["stages"]["text"]["dropped"]
    for reason in ("text_too_short", "too_few_words", "not_english", "nsfw_text", "text_too_frequent"):
        assert dropped.get(reason, 0) > 0, (reason, dropped)
    table = read_output(out)
    assert table.num_rows == stats["pairs"]["kept"] > 0
    texts = table.column("text").to_pylist()
    assert max(collections.Counter(texts).values()) <= 10
    assert all(6 <= len(t) <= 1000 and 3 <= len(t.split()) <= 256 for t in texts)
    assert (out / "_ccpairs" / "config.yaml").read_text().startswith("job:")
    assert (out / "_ccpairs" / "_SUCCESS").exists()


def test_full_sample_job_offline_reconciles_and_rerun_skips(ray_session, sample, tmp_path):
    out = tmp_path / "out"
    first = run([str(sample.manifest_path)], str(out), load_config())
    stats = first.stats
    assert_reconciles(stats)
    assert set(stats["stages"]) == {"text", "fetch", "image", "dedup", "score"}
    table = read_output(out)
    assert table.num_rows == stats["pairs"]["kept"] > 0
    assert set(table.column("fetch_status").to_pylist()) <= {"warc", "ok"}
    hashes = table.column("image_phash").to_pylist()
    assert all(isinstance(h, str) and len(h) == 16 for h in hashes)
    assert min(table.column("width").to_pylist()) >= 1 and min(
        min(w, h) for w, h in zip(table.column("width").to_pylist(), table.column("height").to_pylist())) >= 200
    pairs = list(zip(hashes, table.column("text").to_pylist()))
    assert len(pairs) == len(set(pairs))  # (image_phash, text) deduplicated
    # images missing from the WARCs live on an unresolvable host: counted fetch failures
    assert sum(stats["stages"]["fetch"]["dropped"].values()) > 0
    assert stats["stages"]["image"]["dropped"]  # the planted bad images
    # no weights on this machine: model columns null with reasons, token counts real
    assert stats["scorers_unavailable"]
    assert table.column("clip_similarity_vitb32").null_count == table.num_rows
    assert table.column("num_tokens_gpt").null_count == 0

    again = run([str(sample.manifest_path)], str(out), load_config())
    assert again.stats["inputs"]["skipped_already_staged"] == len(sample.warc_paths)
    assert again.stats["inputs"]["staged_this_run"] == 0
    table2 = read_output(out)
    assert sorted(table2.column("id").to_pylist()) == sorted(table.column("id").to_pylist())


def test_the_fetch_and_image_stages_run_apart_when_asked(ray_session, sample, tmp_path):
    """--until fetch runs the download pool alone; fetch.enabled false runs the image stage as
    tasks over the WARCs' images. Every HTTP image of the sample is on an unresolvable host, so
    the second must keep exactly the pairs the default path (one pool for both stages) keeps."""
    fetched = run([str(sample.manifest_path)], str(tmp_path / "fetch"), _cfg("fetch")).stats
    assert_reconciles(fetched)
    assert set(fetched["stages"]) == {"text", "fetch"}
    assert set(fetched["stages"]["fetch"]["dropped"]) == {"dns_error"}

    both = run([str(sample.manifest_path)], str(tmp_path / "both"), _cfg("image")).stats
    no_network = replace(_cfg("image"), "fetch", enabled=False)
    warc_only = run([str(sample.manifest_path)], str(tmp_path / "warc"), no_network).stats
    for stats in (both, warc_only):
        assert_reconciles(stats)
    assert both["stages"]["fetch"] == fetched["stages"]["fetch"]
    assert warc_only["stages"]["fetch"]["dropped"] == {}
    image_drops = dict(both["stages"]["image"]["dropped"])
    assert warc_only["stages"]["image"]["dropped"] == {**image_drops, "image_empty": fetched["stages"]["fetch"]["dropped"]["dns_error"]}
    keep = [sorted(read_output(tmp_path / name).column("id").to_pylist()) for name in ("both", "warc")]
    assert keep[0] == keep[1] and len(keep[0]) == both["pairs"]["kept"] > 0


def test_cli_rejects_missing_input_before_any_work(tmp_path):
    proc = run_cli("run", str(tmp_path / "nope.warc.gz"), "--output", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "nope.warc.gz" in proc.stderr and "error" in proc.stderr.lower()
    assert not (tmp_path / "out").exists()


def test_cli_rejects_unknown_config_key(tmp_path, sample):
    proc = run_cli("run", str(sample.warc_paths[0]), "--output", str(tmp_path / "out"),
                   "--set", "text.max_lenght=5")
    assert proc.returncode == 2
    assert "max_lenght" in proc.stderr


def test_refuses_to_write_into_a_foreign_folder(ray_session, sample, tmp_path):
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    proc = run_cli("run", str(sample.warc_paths[0]), "--output", str(foreign), "--until", "extract")
    assert proc.returncode == 2 and "not a ccpairs output" in proc.stderr
    assert (foreign / "thesis.tex").read_text() == "precious"


def test_require_scores_fails_before_reading_any_warc(tmp_path, sample):
    proc = run_cli("run", str(sample.manifest_path), "--output", str(tmp_path / "out"), "--require-scores",
                   "--set", f"score.cache_dir={tmp_path / 'empty-cache'}")
    assert proc.returncode == 2
    assert "--require-scores" in proc.stderr and "clip_b32" in proc.stderr and "ccpairs models fetch" in proc.stderr
    assert not (tmp_path / "out").exists()  # failed before any output or staging was made
