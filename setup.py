from setuptools import find_packages, setup

setup(
    name="soundtrack_cnn",
    version="0.2.0",
    description="Film genres from soundtracks: a runnable reproduction of an ensemble of "
                "binary specialist CNNs on MFCC tiles (Theano/Lasagne/nolearn).",
    packages=find_packages(include=["soundtrack_cnn", "soundtrack_cnn.*"]),
    package_data={"soundtrack_cnn": ["reporting/templates/*.html", "trunks/pretrained.npz", "trunks/pretrained.json"]},
    python_requires="==3.11.*",
    # What the package needs at run time; the exact pins live in requirements.txt.
    install_requires=["Theano", "Lasagne", "nolearn", "python_speech_features", "numpy<1.24",
                      "scipy", "scikit-learn", "soundfile", "soxr", "matplotlib", "tqdm",
                      "mutagen"],
    # Scale-out on a Dask cluster (soundtrack_cnn.collection.distributed); exact pins in requirements.txt.
    # The ONNX Runtime engine and ONNX export (soundtrack_cnn.inference.onnx_engine), pinned as
    # in requirements.txt (the releases measured with numpy 1.23.5); the
    # numpy engine runs without them.
    extras_require={"dask": ["dask", "distributed"],
                    "onnx": ["onnx==1.23.2", "onnxruntime==1.32.0"]},
    entry_points={"console_scripts": ["soundtrack-cnn = soundtrack_cnn.cli:main"]},
)
