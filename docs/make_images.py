"""Draw the README's picture, ``docs/images/tile.png``, with the package's own figure code.

    .venv/bin/python docs/make_images.py      # after `make train` made data/demo

A bundled track's first ten seconds as a spectrogram beside the MFCC tile the
study cuts from them (:func:`soundtrack_cnn.reporting.figures.plot_tile`),
saved small (80 dpi, 128 colours).
"""
import io
import os

import numpy as np
from PIL import Image

import soundtrack_cnn  # noqa: F401  (the compatibility shims first)
from soundtrack_cnn.audio.features import FeatureSettings, signal_to_tiles
from soundtrack_cnn.audio.io import load_audio
from soundtrack_cnn.reporting import figures

HERE = os.path.dirname(os.path.abspath(__file__))
TRACK = os.path.join(HERE, os.pardir, "data", "demo", "track0001.flac")


def main():
    settings = FeatureSettings()
    signal = load_audio(TRACK, sr=settings.sr)
    tiles = signal_to_tiles(signal, settings)
    axes = figures.plot_tile(signal[:10 * settings.sr], settings.sr, tiles[0, 0], settings=settings)
    buffer = io.BytesIO()
    np.ravel(axes)[0].figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("P", palette=Image.ADAPTIVE, colors=128)
    image.save(os.path.join(HERE, "images", "tile.png"), optimize=True)


if __name__ == "__main__":
    main()
