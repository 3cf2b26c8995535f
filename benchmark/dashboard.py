"""``python -m benchmark dashboard``: optuna-dashboard on the results database,
to watch a run's studies (one per data set and model) while they train."""

from __future__ import annotations

import argparse

from benchmark.errors import UserError


def command(args: argparse.Namespace) -> int:
    from benchmark.store import _sqlite_file, masked, optuna_storage, scrub

    try:
        import optuna_dashboard
    except ImportError:
        # An editable install of this clone's extra: "benchmark" on PyPI is an
        # unrelated project (the distribution is suitebench).
        raise UserError("the dashboard needs optuna-dashboard, which is not installed: "
                        "pip install -e '.[dashboard]' in this repository") from None

    url, shown = args.storage, masked(args.storage)
    path = _sqlite_file(url)
    if path is not None and not path.is_file():
        # Optuna would create an empty database there and show nothing.
        raise UserError(f"--storage {shown}: no database there (run a suite first)")
    try:
        storage = optuna_storage(url)
    except Exception as error:  # noqa: BLE001 - a bad URL, a server down, an old Optuna schema
        reason = str(error).strip()
        reason = scrub(reason.splitlines()[0] if reason else type(error).__name__, url)
        raise UserError(f"--storage {shown}: cannot open the database ({reason})") from None

    print(f"dashboard of {shown} at http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    try:
        optuna_dashboard.run_server(storage, host=args.host, port=args.port)
    except OSError as error:  # the port taken, an address not of this machine
        raise UserError(f"--host {args.host} --port {args.port}: cannot listen there "
                        f"({error.strerror or error})") from None
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM (cli.main turns it into this): a normal stop
        pass
    return 0
