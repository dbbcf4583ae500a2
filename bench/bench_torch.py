"""The study's network in PyTorch, timed beside the Theano figures (``make bench-torch``).

Runs in its own environment (``.venv-torch``: the CPU wheel of PyTorch, never a
dependency of the package).  ``bench_network.py --export DIR`` first writes the
Theano net's weights, a batch of real tiles with the Theano net's outputs on
them, and its throughput figures.  This script builds the same layers, loads
those weights, checks that both nets compute the same function (max abs
difference of the outputs <= 1e-4), then times a training step (squared error,
Nesterov momentum, dropout on) and inference at the same batch size, in
channels-last and in the default NCHW layout, and prints both engines side by
side with the ratio.  The process always uses the same allocator settings as
the package (``soundtrack_cnn/stack/runtime.py``, loaded as a plain file).
"""
import argparse
import importlib.util
import json
import os

import numpy as np
import torch
from torch import nn

from timing import tiles_per_second

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = 1e-4


def tune_allocator():
    """The package's own ``mallopt`` settings, without importing the package (no Theano here).

    Applied whatever ``SOUNDTRACK_CNN_FAST`` says: PyTorch is the fixed
    reference, the switch only changes the Theano side.
    """
    path = os.path.join(HERE, os.pardir, "soundtrack_cnn", "stack", "runtime.py")
    spec = importlib.util.spec_from_file_location("soundtrack_cnn_runtime", path)
    runtime = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runtime)
    return runtime.tune_allocator()


class StudyNet(nn.Module):
    """The 17 layers of ``soundtrack_cnn/training/network.py`` with the study's values."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(1, 32, 5), nn.Conv2d(32, 64, 4),
                                    nn.Conv2d(64, 128, 2), nn.Conv2d(128, 256, 2)])
        self.dropouts = nn.ModuleList([nn.Dropout(p) for p in (.1, .2, .3, .4)])
        self.hidden5, self.dropout5 = nn.Linear(256 * 1 * 4, 50), nn.Dropout(.5)
        self.hidden6, self.output = nn.Linear(50, 50), nn.Linear(50, 1)

    def forward(self, x):
        for conv, dropout in zip(self.convs, self.dropouts):
            x = dropout(nn.functional.max_pool2d(torch.relu(conv(x)), 2))
        x = self.dropout5(torch.relu(self.hidden5(x.flatten(1))))
        return torch.sigmoid(self.output(torch.relu(self.hidden6(x))))

    def load_theano(self, arrays):
        """Copy weights saved as ``{layer}.0`` (W) and ``{layer}.1`` (b) by bench_network.py."""
        layers = [("conv%d" % (i + 1), conv) for i, conv in enumerate(self.convs)]
        layers += [("hidden5", self.hidden5), ("hidden6", self.hidden6), ("output", self.output)]
        with torch.no_grad():
            for name, module in layers:
                W = arrays[name + ".0"]
                # Lasagne 0.1 convolves (flips the kernel), PyTorch correlates;
                # Lasagne's dense W is (inputs, units), PyTorch's (units, inputs).
                W = W[:, :, ::-1, ::-1] if W.ndim == 4 else W.T
                module.weight.copy_(torch.from_numpy(np.ascontiguousarray(W)))
                module.bias.copy_(torch.from_numpy(arrays[name + ".1"]))


def throughput(model, batch, channels_last, repeats):
    """Median training and inference tiles/s at ``batch`` over ``repeats`` timed steps."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    rng = np.random.RandomState(0)
    X = torch.from_numpy(rng.randn(batch, 1, 40, 100).astype(np.float32)).contiguous(
        memory_format=layout)
    y = torch.from_numpy((rng.rand(batch, 1) > .5).astype(np.float32))
    optimizer = torch.optim.SGD(model.parameters(), lr=.01, momentum=.9, nesterov=True)

    def train():
        model.train()
        optimizer.zero_grad()
        loss = ((model(X) - y) ** 2).mean()
        loss.backward()
        optimizer.step()

    def predict():
        model.eval()
        with torch.no_grad():
            model(X)

    return [tiles_per_second(step, batch, repeats) for step in (train, predict)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--export", metavar="DIR", required=True,
                        help="folder written by bench_network.py --export")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    allocator = tune_allocator()
    torch.set_num_threads(os.cpu_count())
    arrays = np.load(os.path.join(args.export, "theano.npz"))
    with open(os.path.join(args.export, "theano.json")) as handle:
        theano_figures = json.load(handle)

    model = StudyNet()
    model.load_theano(arrays)
    model.eval()
    with torch.no_grad():
        outputs = model(torch.from_numpy(arrays["tiles"])).numpy()
    difference = float(np.abs(outputs - arrays["outputs"]).max())
    print("torch    {} (threads {}, mallopt {}): max |PyTorch - Theano| on {} real tiles = {:.2e}".format(
        torch.__version__, torch.get_num_threads(), "on" if allocator else "off",
        len(outputs), difference))
    if not difference <= TOLERANCE:
        raise SystemExit("bench_torch: the PyTorch net does not compute the Theano net's "
                         "function (max abs difference {:.2e} > {})".format(difference, TOLERANCE))

    batch = theano_figures["batch"]
    train_cl, predict_cl = throughput(model, batch, True, args.repeats)
    train_nchw, predict_nchw = throughput(model, batch, False, args.repeats)
    print("")
    print("batch {:<5}         {:>14} {:>20} {:>15} {:>18}".format(
        batch, "Theano (pkg)", "PyTorch chan-last", "PyTorch NCHW", "Theano/chan-last"))
    for name, ours, cl, nchw in (("training  tiles/s", theano_figures["train"], train_cl, train_nchw),
                                 ("inference tiles/s", theano_figures["predict"], predict_cl,
                                  predict_nchw)):
        print("{:<25} {:>8.0f} {:>20.0f} {:>15.0f} {:>18.2f}".format(name, ours, cl, nchw, ours / cl))
    print("{:<25} {:>8.0f} {:>20} {:>15} {:>18.2f}".format(
        "inference, numpy engine", theano_figures["predict_numpy"], "", "",
        theano_figures["predict_numpy"] / predict_cl))
    if theano_figures.get("predict_onnx"):
        print("{:<25} {:>8.0f} {:>20} {:>15} {:>18.2f}".format(
            "inference, ONNX Runtime", theano_figures["predict_onnx"], "", "",
            theano_figures["predict_onnx"] / predict_cl))
    print("")
    onnx = theano_figures.get("predict_onnx") or 0
    fastest = max(theano_figures["predict"], theano_figures["predict_numpy"], onnx)
    print("targets: training >= 0.5x PyTorch channels-last: {:.2f} ({}); inference >= 2500 tiles/s "
          "(the faster engine): {:.0f} ({}); peak RSS of a training step <= 3 GB: {:.0f} MB ({})".format(
              theano_figures["train"] / train_cl,
              "met" if theano_figures["train"] >= .5 * train_cl else "not met",
              fastest, "met" if fastest >= 2500 else "not met",
              theano_figures["peak_rss_mb"],
              "met" if theano_figures["peak_rss_mb"] * 2 ** 20 <= 3e9 else "not met"))
    print("target: ONNX Runtime inference >= 1.3x PyTorch channels-last: {}".format(
        "{:.2f} ({})".format(onnx / predict_cl, "met" if onnx >= 1.3 * predict_cl else "not met")
        if onnx else "onnxruntime is not installed"))


if __name__ == "__main__":
    main()
