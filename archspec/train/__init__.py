"""Training, evaluation and prediction of a spec's network: ``archspec train``, ``eval`` and ``predict``.

The package is the only place (with the torch backend) that imports torch; parsing and analysis never
import it. Its modules each do one job:

- ``config``: the resolved training configuration (defaults, command-line values, a resumed run's values);
- ``data``: the data sets (scikit-learn's digits, synthetic tensors, an image folder) adapted to the spec;
- ``losses``: cross-entropy, and LeNet-5's RBF (MAP) criterion for specs whose output op is ``rbf``;
- ``checkpoint``: atomic checkpoints loadable with ``weights_only=True``, strict weight loading;
- ``distributed``: torchrun/DDP set-up and metric reduction;
- ``progress``: the progress bar, or plain log lines when the output is not a terminal;
- ``loop``: the training and evaluation loop, the run folder;
- ``inference``: ``eval`` and ``predict`` from a checkpoint alone.
"""
