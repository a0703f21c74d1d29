"""What ``claims.html`` reads of an experiment's ``result.json``: its schema and size bound.

No ``from __future__ import annotations``: pydantic would compile every string annotation (see
tests/test_startup.py).
"""

from pydantic import BaseModel

MAX_RESULT_BYTES = 4 * 2**20  # a result.json is a few KB; a larger file is not one


class _Machine(BaseModel):
    cpus: int | None = None
    load_average: list[float] = []


Cell = bool | int | float | str | None


class _Settings(BaseModel):
    """A trained claim's verdict per setting (``details.settings``): the table the page shows."""

    columns: list[Cell]
    rows: list[list[Cell]]


class _Details(BaseModel):
    settings: _Settings | None = None


class ResultFile(BaseModel):
    """What ``claims.html`` shows of a ``result.json`` (other keys are ignored): anything else is
    reported on the page as a file that could not be read, never a template error."""

    command: str
    smoke: bool = False
    columns: list[Cell]
    rows: list[list[Cell]]
    reproduced: bool
    verdict: str
    seconds: float
    commit: str | None = None
    machine: _Machine
    finished: str
    details: _Details = _Details()
