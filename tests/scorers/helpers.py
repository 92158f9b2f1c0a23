"""Helpers of the scorer tests: a batch as the image stage leaves it."""

from __future__ import annotations

from operators.base import rows_to_batch
from operators.scorers.prepare import thumb_column, thumbnailers

TEXTS = ["a red car parked on the street", "Portrait of a smiling woman", "Mountains at dawn, 4K wallpaper",
         "hello world"]


def make_batch(cfg, imgs, texts=TEXTS, dropped=()) -> dict:
    """Rows as the image stage leaves them: text, thumbnails (None for dropped rows), drop marks."""
    thumbs = thumbnailers(cfg)
    rows = []
    for i, (img, text) in enumerate(zip(imgs, texts)):
        row = {"text": text, "drop_stage": None, "drop_reason": None}
        for name, t in thumbs.items():
            row[thumb_column(name)] = None if i in dropped else t(img).tobytes()
        if i in dropped:
            row.update(drop_stage="image", drop_reason="too_small")
        rows.append(row)
    return rows_to_batch(rows)
