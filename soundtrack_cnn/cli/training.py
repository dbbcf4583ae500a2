"""Commands that train: ``run`` (the whole study) and ``train``."""
from ..collection.corpus import SIZES
from ..experiment.profiles import PROFILES
from .common import Distinct, add_scheduler, cluster, count, n_jobs, seed

__all__ = ["register"]


def _run(args):
    from ..experiment.pipeline import run_experiment
    from ..experiment.profiles import default_run_dir
    from ..experiment.runfolder import run_lock
    run_dir = args.run or default_run_dir(args.profile)
    with run_lock(run_dir), cluster(args) as client:
        run_experiment(run_dir, profile=args.profile,
                       manifest=args.manifest, data_dir=args.data_dir, corpus=args.corpus,
                       equal_updates=args.equal_updates or None,
                       seed=args.seed,
                       n_jobs=args.jobs, genres=args.genres, client=client, verbose=1)


def _train(args):
    from ..experiment.pipeline import prepare_run, train_run
    from ..experiment.profiles import get_profile
    from ..experiment.runfolder import run_lock
    from ..files import check_not_input
    check_not_input(args.out, [args.store])  # the run's files are not the store's
    with run_lock(args.out):
        prepare_run(args.out, args.store, args.profile, genres=args.genres, seed=args.seed)
        params = dict(get_profile(args.profile).net_params)
        if args.max_epochs is not None:
            params["epochs"] = args.max_epochs
        with cluster(args) as client:
            train_run(args.out, net_params=params, verbose=1 + args.verbose, client=client,
                      trust_pickles=args.trust_pickles)


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
    run.add_argument("--jobs", type=n_jobs, default=-1, help="feature extraction processes "
                     "(default: every core)")
    add_scheduler(run)
    run.set_defaults(func=_run)

    train = commands.add_parser("train", help="train the specialists and the single-net baseline")
    train.add_argument("store")
    train.add_argument("--out", required=True)
    train.add_argument("--profile", default="demo", choices=sorted(PROFILES))
    train.add_argument("--genres", nargs="+", action=Distinct)
    train.add_argument("--max-epochs", type=count("epochs"))
    train.add_argument("--seed", type=seed, default=0)
    train.add_argument("-v", "--verbose", action="count", default=0,
                       help="also print each net's layer table and a line per epoch")
    train.add_argument("--trust-pickles", action="store_true",
                       help="resume from saved nets this user did not write (a pickle runs "
                            "code: only for a run folder you trust)")
    add_scheduler(train)
    train.set_defaults(func=_train)
