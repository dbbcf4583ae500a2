"""Commands that train: ``run`` (the whole study), ``train`` and ``pretrain``."""
import dataclasses
import os
import shlex

from ..beyond.options import OBJECTIVES
from ..collection.corpus import SIZES
from ..errors import InputError
from ..experiment.profiles import PROFILES
from .common import Distinct, Number, add_scheduler, cluster, count, n_jobs, seed

__all__ = ["register"]


def _run(args):
    _check_init(args)
    from ..experiment.pipeline import run_experiment
    from ..experiment.profiles import default_run_dir
    from ..experiment.runfolder import run_lock
    run_dir = args.run or default_run_dir(args.profile)
    with run_lock(run_dir), cluster(args) as client:
        run_experiment(run_dir, profile=args.profile,
                       manifest=args.manifest, data_dir=args.data_dir, corpus=args.corpus,
                       equal_updates=args.equal_updates or None,
                       seed=args.seed,
                       n_jobs=args.jobs, genres=args.genres, client=client, verbose=1,
                       init=args.init, freeze_conv=args.freeze_conv or None)


def _train(args):
    _check_init(args)
    from ..experiment.pipeline import prepare_run, train_run
    from ..experiment.profiles import get_profile
    from ..experiment.runfolder import run_lock
    from ..files import check_not_input
    check_not_input(args.out, [args.store])  # the run's files are not the store's
    profile = dataclasses.replace(get_profile(args.profile), init=args.init,
                                  freeze_conv=args.freeze_conv)
    with run_lock(args.out):
        prepare_run(args.out, args.store, profile, genres=args.genres, seed=args.seed)
        params = dict(get_profile(args.profile).net_params)
        if args.max_epochs is not None:
            params["epochs"] = args.max_epochs
        with cluster(args) as client:
            train_run(args.out, net_params=params, verbose=1 + args.verbose, client=client,
                      trust_pickles=args.trust_pickles, init=args.init,
                      freeze_conv=args.freeze_conv, n_jobs=args.jobs)


def _add_init(parser):
    parser.add_argument("--init", metavar="TRUNK", help="start every net from a pretrained "
                        "trunk: 'pretrained' (shipped with the package) or a TRUNK.npz of "
                        "`pretrain`; all layers are fine-tuned")
    parser.add_argument("--freeze-conv", action="store_true",
                        help="with --init: keep the trunk's convolutional blocks fixed")


def _check_init(args):
    if args.freeze_conv and not args.init:
        raise InputError("--freeze-conv needs --init TRUNK")


def _pretrain(args):
    from ..beyond.pretraining import pretrain
    params = {key: getattr(args, key) for key in ("objective", "tag_weight", "epochs", "batch",
                                                  "temperature", "rate", "n_jobs")}
    # The whole command, every option spelt out, so the provenance rebuilds the same trunk.
    command = ["soundtrack-cnn", "pretrain"] + args.stores + [
        "--out", args.out, "--objective", args.objective, "--tag-weight", args.tag_weight,
        "--epochs", args.epochs, "--batch", args.batch,
        "--temperature", args.temperature, "--rate", args.rate, "--seed", args.seed,
        "--jobs", args.n_jobs] + \
        ["--keep-test"] * args.keep_test
    trunk = pretrain(args.stores, args.out, exclude_splits=() if args.keep_test else ("test",),
                     command=" ".join(shlex.quote(str(part)) for part in command),
                     report=lambda line: print(line, flush=True), random_state=args.seed,
                     progress=True, **params)
    print("{}: trunk of {} parameters, {} epochs, loss {} -> {}, sha256 {} (provenance: {})"
          .format(trunk.path, trunk.n_params, trunk.provenance["epochs"],
                  trunk.provenance["loss_curve"][0], trunk.provenance["loss_curve"][-1],
                  trunk.sha256, os.path.splitext(trunk.path)[0] + ".json"))


def register(commands):
    run = commands.add_parser("run", help="the whole study: corpus, features, training, report")
    run.add_argument("--profile", default="demo", choices=sorted(PROFILES))
    run.add_argument("--run", help="output folder (default runs/PROFILE)")
    run.add_argument("--manifest", help="your own collection (CSV path,tags[,track_id,split])")
    run.add_argument("--data-dir", help="where the bundled corpus is generated")
    run.add_argument("--corpus", choices=sorted(SIZES),
                     help="size of the bundled corpus (default: the profile's)")
    run.add_argument("--equal-updates", action="store_true",
                     help="also train the single net with as many updates as all specialists")
    run.add_argument("--genres", nargs="+", action=Distinct, help="explicit vocabulary")
    run.add_argument("--seed", type=seed, default=0)
    _add_init(run)
    run.add_argument("--jobs", type=n_jobs, default=-1, help="feature extraction processes "
                     "and specialists trained at once (default: every core)")
    add_scheduler(run)
    run.set_defaults(func=_run)

    train = commands.add_parser("train", help="train the specialists and the single-net baseline")
    train.add_argument("store")
    train.add_argument("--out", required=True)
    train.add_argument("--profile", default="demo", choices=sorted(PROFILES))
    train.add_argument("--genres", nargs="+", action=Distinct)
    train.add_argument("--max-epochs", type=count("epochs"))
    train.add_argument("--seed", type=seed, default=0)
    _add_init(train)
    train.add_argument("--jobs", type=n_jobs, default=-1, help="specialists trained at once, "
                       "each in a process on one core (default: every core; the weights are "
                       "the same for any number)")
    train.add_argument("-v", "--verbose", action="count", default=0,
                       help="also print each net's layer table and a line per epoch")
    train.add_argument("--trust-pickles", action="store_true",
                       help="resume from saved nets this user did not write (a pickle runs "
                            "code: only for a run folder you trust)")
    add_scheduler(train)
    train.set_defaults(func=_train)

    pretrain = commands.add_parser("pretrain", help="pretrain the network's trunk on unlabelled "
                                   "feature stores (contrastive, NT-Xent), or on their tags")
    pretrain.add_argument("stores", nargs="+", metavar="STORE")
    pretrain.add_argument("--out", required=True, metavar="TRUNK.npz",
                          help="the trunk (its provenance is written beside it as .json)")
    pretrain.add_argument("--objective", choices=OBJECTIVES, default="contrastive",
                          help="two tiles of one track (no tags; the default), the training "
                          "tracks' tags, or both")
    pretrain.add_argument("--tag-weight", type=Number(float, "a weight above 0", above=0),
                          default=1.0, help="of the tags' loss in contrastive+tags "
                          "(default %(default)s)")
    pretrain.add_argument("--epochs", type=count("epochs"), default=20)
    pretrain.add_argument("--batch", type=count("pairs", low=2), default=64,
                          help="pairs per update, each of another track (default %(default)s)")
    pretrain.add_argument("--temperature", type=Number(float, "a temperature above 0",
                                                       above=0), default=0.5)
    pretrain.add_argument("--rate", type=Number(float, "a learning rate above 0", above=0),
                          default=0.01, help="learning rate of the first epoch (annealed to "
                          ".001)")
    pretrain.add_argument("--keep-test", action="store_true",
                          help="also pretrain on tracks whose split is test (left out by default)")
    pretrain.add_argument("--seed", type=seed, default=0)
    pretrain.add_argument("--jobs", dest="n_jobs", type=n_jobs, default=1,
                          help="threads (default 1; -1: one per core). The weights are those "
                          "of the seed and this number: thread counts change the sums")
    pretrain.set_defaults(func=_pretrain)
