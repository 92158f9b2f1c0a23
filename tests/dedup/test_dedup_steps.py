"""The dedup stage's Dataset-level steps on one local Ray session: reference tables built by
hash_reference (a folder with invalid files; a tar plus a Parquet), exact and near reference
dedup on planted duplicates, and pair dedup."""

from __future__ import annotations

import io
import json
import tarfile

import imagehash
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import ray
import skimage.data
from PIL import Image

from operators.dedup import DedupConfig, hash_reference, mark_pair_duplicates, mark_reference_duplicates
from operators.images.phash import phash_hex

# Photos in the reference, and photos that are not (each > 4 bits from every reference photo).
REFERENCE_PHOTOS = ("astronaut", "camera", "coffee", "moon", "brick", "text", "page", "colorwheel")
UNRELATED_PHOTOS = ("chelsea", "rocket", "coins", "grass", "gravel", "clock")

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("text", pa.string()),
        ("page_url", pa.string()),
        ("image_phash", pa.string()),
        ("width", pa.int32()),
        ("image_bytes", pa.binary()),
        ("drop_stage", pa.string()),
        ("drop_reason", pa.string()),
    ]
)


def _photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(skimage.data, name)())


def _encoded(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _oracle_phash(data: bytes) -> str:
    return str(imagehash.phash(Image.open(io.BytesIO(data))))


def _dataset(rows: list[dict]) -> ray.data.Dataset:
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    half = table.num_rows // 2
    return ray.data.from_arrow([table.slice(0, half), table.slice(half)])  # two blocks


def _collect(ds: ray.data.Dataset) -> dict[int, dict]:
    table = pa.concat_tables(ray.get(ds.to_arrow_refs()))
    assert table.column_names == SCHEMA.names
    assert table.schema.remove_metadata() == SCHEMA  # output schema = input schema
    rows = table.to_pylist()
    assert len({row["id"] for row in rows}) == len(rows)
    return {row["id"]: row for row in rows}


def _row(id_, phash, text="a photo of a thing", drop=None, page="http://p/1"):
    stage, reason = drop or (None, None)
    return {"id": id_, "text": text, "page_url": page, "image_phash": phash, "width": 640 if id_ % 2 else None,
            "image_bytes": f"img{id_}".encode(), "drop_stage": stage, "drop_reason": reason}


# ----------------------------------------------------------------------------- hash_reference


@pytest.fixture(scope="module")
def photo_reference(tmp_path_factory, ray_session):
    """hash_reference over a folder of the reference photos (PNG, some nested) plus bad files."""
    folder = tmp_path_factory.mktemp("photos")
    (folder / "nested").mkdir()
    expected = {}
    for i, name in enumerate(REFERENCE_PHOTOS):
        relative = f"nested/{name}.png" if i % 2 else f"{name}.png"
        data = _encoded(_photo(name), "PNG")
        (folder / relative).write_bytes(data)
        expected[relative] = _oracle_phash(data)
    (folder / "nested" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("not an image, not counted")
    output = tmp_path_factory.mktemp("tables") / "skimage"
    stats = hash_reference(str(folder), "skimage", str(output))
    return stats, output, expected


def test_hash_reference_on_a_folder_counts_invalid_files_and_writes_the_table(photo_reference):
    stats, output, expected = photo_reference
    assert stats == {"images": 10, "hashed": 8, "invalid": {"decode_error": 1, "empty": 1}}
    table = pq.read_table(output)
    assert table.schema.remove_metadata() == pa.schema(
        [("image_phash", pa.string()), ("name", pa.string()), ("source_id", pa.string())]
    )
    assert {r["source_id"]: r["image_phash"] for r in table.to_pylist()} == expected
    assert set(table["name"].to_pylist()) == {"skimage"}


def test_hash_reference_on_a_tar_and_a_parquet(tmp_path, ray_session):
    source = tmp_path / "wds"
    source.mkdir()
    members = {
        "000.jpg": _encoded(_photo("astronaut"), "JPEG", quality=90),
        "000.json": b'{"caption": "an astronaut"}',
        "001.PNG": _encoded(_photo("camera"), "PNG"),
        "002.jpg": b"garbage",
    }
    with tarfile.open(source / "shard-000.tar", "w") as tar:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    coffee = _encoded(_photo("coffee"), "JPEG", quality=90)
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])  # Hugging Face's Image feature
    pq.write_table(
        pa.table({"key": ["k1", "k2"],
                  "image": pa.array([{"bytes": coffee, "path": "c.jpg"}, {"bytes": None, "path": "x"}], image_type)}),
        source / "images.parquet",
    )
    output = tmp_path / "table"
    stats = hash_reference(str(source), "mixed", str(output))
    assert stats == {"images": 5, "hashed": 3, "invalid": {"decode_error": 1, "empty": 1}}
    rows = {r["source_id"]: r["image_phash"] for r in pq.read_table(output).to_pylist()}
    assert rows == {
        "shard-000.tar/000.jpg": _oracle_phash(members["000.jpg"]),
        "shard-000.tar/001.PNG": _oracle_phash(members["001.PNG"]),
        "k1": _oracle_phash(coffee),
    }


# ----------------------------------------------------------------------------- reference dedup


def test_exact_reference_duplicates_marks_the_planted_ids(tmp_path, ray_session):
    a, b, c = "c2924c5532bddfc8", "bff1c1c0434e8cbc", "bb8320376c0f3637"
    reference = tmp_path / "ref"
    reference.mkdir()
    pq.write_table(
        pa.table({"image_phash": [a, c.upper(), "not-a-phash", None], "name": ["t"] * 4,
                  "source_id": ["1", "2", "3", "4"]}),
        reference / "part-0.parquet",
    )
    rows = [
        _row(1, a),
        _row(2, b),
        _row(3, a, drop=("text", "too_short")),
        _row(4, c),
        _row(5, None),
        _row(6, a),
    ]
    cfg = DedupConfig(reference_tables=(str(reference),), num_partitions=3)
    out = _collect(mark_reference_duplicates(_dataset(rows), cfg))
    assert sorted(out) == [1, 2, 3, 4, 5, 6]
    marked = {i for i, r in out.items() if r["drop_stage"] == "dedup"}
    assert marked == {1, 4, 6}
    for i in marked:
        assert out[i]["drop_reason"] == "reference_duplicate" and out[i]["image_bytes"] is None
    for i in (2, 5):
        assert out[i] == _row(i, rows[i - 1]["image_phash"])
    assert out[3] == rows[2]  # already dropped: untouched although its hash is in the reference
    assert out[1]["width"] == 640 and out[6]["width"] is None


def test_near_duplicates_of_reencoded_and_resized_photos_are_caught_at_k4(photo_reference):
    _, table, expected = photo_reference
    reference_hashes = [int(h, 16) for h in expected.values()]
    rows, origin = [], {}
    for name in REFERENCE_PHOTOS:
        photo = _photo(name)
        jpeg = Image.open(io.BytesIO(_encoded(photo.convert("RGB"), "JPEG", quality=60)))
        half = photo.resize((photo.width // 2, photo.height // 2), Image.BILINEAR)
        for variant in (jpeg, half):
            rows.append(_row(len(rows) + 1, phash_hex(variant)))
            origin[len(rows)] = name
    unrelated = []
    for name in UNRELATED_PHOTOS:
        rows.append(_row(len(rows) + 1, phash_hex(_photo(name))))
        unrelated.append(len(rows))
    dead = len(rows) + 1
    rows.append(_row(dead, next(iter(expected.values())), drop=("image", "too_small")))

    cfg = DedupConfig(reference_tables=(str(table),), max_hamming=4, num_partitions=2)
    out = _collect(mark_reference_duplicates(_dataset(rows), cfg))
    assert len(out) == len(rows)
    reasons = {}
    for i, name in origin.items():
        distance = min(bin(int(rows[i - 1]["image_phash"], 16) ^ h).count("1") for h in reference_hashes)
        assert distance <= 4, f"{name}: the variant is {distance} bits away; pick another photo"
        reasons[i] = "reference_duplicate" if distance == 0 else "reference_near_duplicate"
        assert (out[i]["drop_stage"], out[i]["drop_reason"], out[i]["image_bytes"]) == ("dedup", reasons[i], None)
    assert list(reasons.values()).count("reference_near_duplicate") >= 4  # the banded path, not just exact hits
    for i in unrelated:
        assert out[i] == rows[i - 1]
    assert out[dead] == rows[dead - 1]


# ----------------------------------------------------------------------------- pair dedup


def test_pair_dedup_keeps_the_smallest_live_id_per_phash_and_text(ray_session):
    p, q = "c2924c5532bddfc8", "bff1c1c0434e8cbc"
    rows = [
        _row(1, p, "a dog", drop=("text", "too_frequent")),  # smallest id but dropped: not a candidate
        _row(5, p, "a dog"),
        _row(3, p, "a dog"),
        _row(9, p, "a dog"),
        _row(7, p, "a cat"),
        _row(2, q, "a dog"),
        _row(4, None, "a dog"),
        _row(11, q, "a cow", page="http://p/b"),
        _row(11, q, "a cow", page="http://p/a"),  # the same pair on two pages: the smaller page_url wins
    ]
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    ds = ray.data.from_arrow([table.slice(0, 4), table.slice(4)])
    out = pa.concat_tables(ray.get(mark_pair_duplicates(ds, DedupConfig(num_partitions=3)).to_arrow_refs()))
    assert out.schema.remove_metadata() == SCHEMA
    result = {(r["id"], r["page_url"]): (r["drop_stage"], r["drop_reason"]) for r in out.to_pylist()}
    dup = ("dedup", "pair_duplicate")
    assert result == {
        (1, "http://p/1"): ("text", "too_frequent"),
        (5, "http://p/1"): dup,
        (3, "http://p/1"): (None, None),
        (9, "http://p/1"): dup,
        (7, "http://p/1"): (None, None),
        (2, "http://p/1"): (None, None),
        (4, "http://p/1"): (None, None),
        (11, "http://p/b"): dup,
        (11, "http://p/a"): (None, None),
    }
    cleared = {r["id"]: r["image_bytes"] for r in out.to_pylist() if r["drop_reason"] == "pair_duplicate"}
    assert cleared == {5: None, 9: None, 11: None}
    assert mark_pair_duplicates(ds, DedupConfig(pair_dedup=False)) is ds


def test_hash_reference_job_prints_stats_and_replaces_its_output(tmp_path, ray_session, capsys):
    from jobs.hash_reference import main

    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.png").write_bytes(_encoded(_photo("astronaut"), "PNG"))
    (folder / "b.jpg").write_bytes(_encoded(_photo("camera"), "JPEG"))
    output = tmp_path / "ref"
    argv = ["--images", str(folder), "--name", "tiny", "--output", str(output)]
    for _ in range(2):  # a re-run replaces the table instead of appending to it
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"images": 2, "hashed": 2, "invalid": {}}
    assert sorted(pq.read_table(output)["source_id"].to_pylist()) == ["a.png", "b.jpg"]
    assert main(["--images", str(tmp_path / "missing"), "--name", "x", "--output", str(output)]) == 2
    assert "does not exist" in capsys.readouterr().err
