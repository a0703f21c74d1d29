"""The static HTML report site (`archspec report`): an index that tells the zoo's history, a page per
network variant. Jinja2 and matplotlib are imported only when a site is built."""

from archspec.site.build import DEFAULT_OUTPUT, build_site

__all__ = ["DEFAULT_OUTPUT", "build_site"]
