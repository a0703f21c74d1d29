"""The static HTML report site (`archspec report`): an index that tells the zoo's history, a page per
network variant. ``archspec.site.build.build_site`` builds it; Jinja2 and matplotlib are imported only
then. This package module stays light, so that the command line can name the default folder cheaply."""

from pathlib import Path

DEFAULT_OUTPUT = Path("out/site")
# Where `archspec experiment` writes its results: the claims page reads them from there.
DEFAULT_RESULTS = Path("runs/experiments")

__all__ = ["DEFAULT_OUTPUT", "DEFAULT_RESULTS"]
