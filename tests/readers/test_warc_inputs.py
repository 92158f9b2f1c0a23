"""expand_inputs (files, globs, directories, manifests, s3), crawl_from_path, and open_input's
retries of transient storage errors."""

from __future__ import annotations

import gzip
import io

import pytest

from operators.readers import InputError, crawl_from_path, expand_inputs, open_input
from operators.readers import inputs as inputs_module
from tests.readers.loopback_s3 import loopback_s3


@pytest.mark.parametrize(
    "path, crawl",
    [
        ("s3://commoncrawl/crawl-data/CC-MAIN-2021-04/segments/1610703495901.0/warc/"
         "CC-MAIN-20210115134101-20210115164101-00000.warc.gz", "CC-MAIN-2021-04"),
        ("https://data.commoncrawl.org/crawl-data/CC-MAIN-2023-50/segments/x/warc/y.warc.gz", "CC-MAIN-2023-50"),
        ("/data/CC-MAIN-2019-35-sample.warc.gz", "CC-MAIN-2019-35"),
        # a Common Crawl file name holds a timestamp, not the crawl id
        ("/data/CC-MAIN-20210115134101-20210115164101-00000.warc.gz", "unknown"),
        ("/work/shared/data/warc/cc-sample.warc.gz", "unknown"),
    ],
)
def test_crawl_from_path(path, crawl):
    assert crawl_from_path(path) == crawl


@pytest.fixture
def warc_dir(tmp_path):
    for name in ("b.warc.gz", "a.warc.gz", "c.warc", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.warc.gz").write_bytes(b"x")
    return tmp_path


def test_globs_directories_and_files_expand_sorted_and_deduplicated(warc_dir):
    got = expand_inputs([str(warc_dir / "*.warc.gz"), str(warc_dir / "a.warc.gz"), str(warc_dir)])
    assert got == [str(warc_dir / n) for n in ("a.warc.gz", "b.warc.gz", "c.warc")]
    assert expand_inputs([str(warc_dir / "**" / "*.warc.gz")]) == [
        str(warc_dir / n) for n in ("a.warc.gz", "b.warc.gz", "sub/d.warc.gz")]


def test_relative_paths_become_absolute(warc_dir, monkeypatch):
    monkeypatch.chdir(warc_dir)
    assert expand_inputs(["b.warc.gz"]) == [str(warc_dir / "b.warc.gz")]


def test_limit_files_takes_the_first_n_after_expansion(warc_dir):
    assert expand_inputs([str(warc_dir / "*.warc*")], limit_files=2) == [
        str(warc_dir / "a.warc.gz"), str(warc_dir / "b.warc.gz")]
    with pytest.raises(InputError):
        expand_inputs([str(warc_dir)], limit_files=0)


@pytest.mark.parametrize("name", ["missing.warc.gz", "*.nothing", "empty_dir"])
def test_missing_local_inputs_raise_input_error(tmp_path, name):
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(InputError, match="no files|does not exist|holds no"):
        expand_inputs([str(tmp_path / name)])


def test_remote_urls_pass_through_without_network():
    urls = ["https://data.commoncrawl.org/crawl-data/CC-MAIN-2021-04/x.warc.gz?v=1", "s3://bucket/a.warc.gz"]
    assert expand_inputs(urls) == urls


def test_local_manifest_resolves_existing_lines_locally_and_the_rest_against_the_prefix(tmp_path):
    (tmp_path / "crawl-data" / "CC-MAIN-2021-04").mkdir(parents=True)
    local = tmp_path / "crawl-data" / "CC-MAIN-2021-04" / "one.warc.gz"
    local.write_bytes(b"x")
    lines = ["crawl-data/CC-MAIN-2021-04/one.warc.gz", "", "crawl-data/CC-MAIN-2021-04/two.warc.gz",
             "https://example.org/three.warc.gz"]
    manifest = tmp_path / "warc.paths.gz"
    manifest.write_bytes(gzip.compress("\n".join(lines).encode()))
    assert expand_inputs([str(manifest)]) == [
        str(local),
        "https://data.commoncrawl.org/crawl-data/CC-MAIN-2021-04/two.warc.gz",
        "https://example.org/three.warc.gz",
    ]
    assert expand_inputs([str(manifest)], manifest_prefix="s3://commoncrawl", limit_files=2)[1] == (
        "s3://commoncrawl/crawl-data/CC-MAIN-2021-04/two.warc.gz")


@pytest.mark.parametrize("content", [b"\x1f\x8b\x08\x00garbage", b"", gzip.compress(b"\n\n")],
                         ids=["corrupt-gzip", "empty", "no-lines"])
def test_unreadable_or_empty_manifest_raises_input_error(tmp_path, content):
    manifest = tmp_path / "warc.paths.gz"
    manifest.write_bytes(content)
    with pytest.raises(InputError, match="manifest"):
        expand_inputs([str(manifest)])


def test_missing_manifest_raises_input_error(tmp_path):
    with pytest.raises(InputError):
        expand_inputs([str(tmp_path / "warc.paths.gz")])


# ----------------------------------------------------------------------------- open_input


class _FailsOnSecondRead(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.reads = 0

    def read(self, size=-1):
        self.reads += 1
        if self.reads == 2:
            raise ConnectionResetError("connection reset by peer")
        return super().read(size)


@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr(inputs_module, "BACKOFF_S", 0.0)


def test_transient_read_errors_reopen_and_resume_at_the_same_offset(no_backoff, monkeypatch):
    data = bytes(range(256)) * 10
    opened = []

    def flaky_open(self):
        opened.append(1)
        return _FailsOnSecondRead(data) if len(opened) == 1 else io.BytesIO(data)

    monkeypatch.setattr(inputs_module._RetryingReader, "_open", flaky_open)
    with open_input("s3://bucket/x.warc.gz", retries=2) as stream:
        first = stream.read(100)
        rest = stream.read()  # fails once, reopens, seeks to 100, reads on
    assert first + rest == data
    assert len(opened) == 2


def test_open_retries_transient_errors_then_gives_up(no_backoff, monkeypatch):
    attempts = []

    def failing_open(self):
        attempts.append(1)
        raise TimeoutError("timed out")

    monkeypatch.setattr(inputs_module._RetryingReader, "_open", failing_open)
    with pytest.raises(TimeoutError):
        open_input("https://example.org/x.warc.gz", retries=3)
    assert len(attempts) == 4


def test_missing_file_is_not_retried(tmp_path, no_backoff):
    with pytest.raises(FileNotFoundError):
        open_input(str(tmp_path / "nope.warc.gz"), retries=5)


def test_local_file_reads_fully(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc" * 1000)
    with open_input(str(path)) as stream:
        assert stream.read(5) == b"abcab" and stream.tell() == 5
        assert len(stream.read()) == 2995


# ----------------------------------------------------------------------------- s3 (loopback)


@pytest.fixture(scope="module")
def s3_options():
    pytest.importorskip("moto.server")
    import s3fs

    with loopback_s3("ccbucket") as options:
        fs = s3fs.S3FileSystem(**options)
        for name in ("b.warc.gz", "a.warc.gz"):
            fs.pipe(f"ccbucket/crawl-data/CC-MAIN-2021-04/{name}", name.encode() * 100)
        fs.pipe("ccbucket/warc.paths.gz", gzip.compress(b"crawl-data/CC-MAIN-2021-04/a.warc.gz\n"))
        yield options


def test_s3_globs_expand_and_files_open_through_s3fs(s3_options):
    got = expand_inputs(["s3://ccbucket/crawl-data/*/*.warc.gz"], storage_options=s3_options)
    assert got == ["s3://ccbucket/crawl-data/CC-MAIN-2021-04/a.warc.gz",
                   "s3://ccbucket/crawl-data/CC-MAIN-2021-04/b.warc.gz"]
    with open_input(got[1], storage_options=s3_options) as stream:
        assert stream.read() == b"b.warc.gz" * 100
    with pytest.raises(InputError, match="no files match"):
        expand_inputs(["s3://ccbucket/nothing/*.warc.gz"], storage_options=s3_options)


def test_remote_manifest_lines_get_the_prefix(s3_options):
    got = expand_inputs(["s3://ccbucket/warc.paths.gz"], storage_options=s3_options,
                        manifest_prefix="s3://ccbucket/")
    assert got == ["s3://ccbucket/crawl-data/CC-MAIN-2021-04/a.warc.gz"]
