import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def version():
    """The one source of the version: ``soundtrack_cnn.__version__`` (read, not imported:
    importing the package would need its dependencies before they are installed)."""
    with open(os.path.join(HERE, "soundtrack_cnn", "__init__.py")) as init:
        return re.search(r'^__version__ = "([^"]+)"$', init.read(), re.M).group(1)


def package_data():
    """Every file of the package that is not Python source: templates, shipped weights.

    Today: the page templates (film/templates/film.html, reporting/templates/viewer.html)
    and the shipped trunk (trunks/pretrained.npz, .json).
    Listed by walking the tree rather than by hand, so that a new template cannot be
    left out of a wheel (tests/test_package.py compares a built wheel with this list).
    """
    root = os.path.join(HERE, "soundtrack_cnn")
    found = []
    for folder, folders, names in os.walk(root):
        folders[:] = [name for name in folders if name != "__pycache__"]
        found += [os.path.relpath(os.path.join(folder, name), root) for name in names
                  if not name.endswith((".py", ".pyc"))]
    return sorted(found)


setup(
    name="soundtrack_cnn",
    version=version(),
    description="Film genres from soundtracks: a runnable reproduction of an ensemble of "
                "binary specialist CNNs on MFCC tiles (Theano/Lasagne/nolearn).",
    packages=find_packages(include=["soundtrack_cnn", "soundtrack_cnn.*"]),
    package_data={"soundtrack_cnn": package_data()},
    python_requires="==3.11.*",
    # What the package needs at run time; the exact pins live in requirements.txt.
    install_requires=["Theano", "Lasagne", "nolearn", "python_speech_features", "numpy<1.24",
                      "scipy", "scikit-learn", "joblib", "threadpoolctl", "soundfile", "soxr",
                      "matplotlib", "tqdm", "mutagen"],
    # Scale-out on a Dask cluster (soundtrack_cnn.collection.distributed); exact pins in requirements.txt.
    # The ONNX Runtime engine and ONNX export (soundtrack_cnn.inference.onnx_engine), pinned as
    # in requirements.txt (the releases measured with numpy 1.23.5); the
    # numpy engine runs without them.
    extras_require={"dask": ["dask", "distributed"],
                    "onnx": ["onnx==1.23.2", "onnxruntime==1.32.0"]},
    # The command starts in a module outside the package, so that Ctrl-C while the
    # package imports ends in one line too (see soundtrack_cnn_command.py).
    py_modules=["soundtrack_cnn_command"],
    entry_points={"console_scripts": ["soundtrack-cnn = soundtrack_cnn_command:main"]},
)
