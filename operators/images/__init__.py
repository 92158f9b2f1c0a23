"""The `image` stage: COYO's image rules read from the header, one decode, pHash, thumbnails.

    ds = apply_operator(ds, ImageDecoder(cfg.image, thumbnailers=thumbnailers(cfg.score)))
"""

from operators.images.config import ImageConfig
from operators.images.decode import (
    REASONS,
    DecodedImage,
    HeaderInfo,
    ImageDecoder,
    Thumbnailer,
    check_header,
    decode_image,
    to_rgb,
)
from operators.images.phash import phash_hex

__all__ = [
    "REASONS",
    "DecodedImage",
    "HeaderInfo",
    "ImageConfig",
    "ImageDecoder",
    "Thumbnailer",
    "check_header",
    "decode_image",
    "phash_hex",
    "to_rgb",
]
