"""The essay's claims as experiments: ``archspec experiment NAME`` (see docs/claims.md).

Each experiment is a folder under ``experiments/`` of the repository: specs (importing zoo blocks) and an
``experiment.toml`` that says what is measured. Its modules each do one job:

- ``config``: finding and reading the experiments (no torch, no matplotlib);
- ``static``: the claims that analysis alone settles (exact parameter, MAC and receptive-field figures);
- ``trained``: the claims that need training on the digits (the only module that imports torch);
- ``plots``: the matplotlib figure of a result;
- ``runner``: running one experiment into its run folder (result.json, plot) and the printed table;
- ``commands``: the ``experiment`` subcommand.

The package imports none of them: the CLI builds the ``experiment`` parser on every call.
"""
