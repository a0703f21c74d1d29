"""Source positions: every AST and IR node carries the span of the spec text it came from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Span(BaseModel):
    """A region of a spec file: 1-based line and column of its start and its end (end exclusive)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


def point(path: str, line: int, column: int, width: int = 1) -> Span:
    """A span of ``width`` characters on one line."""
    return Span(path=path, line=line, column=column, end_line=line, end_column=column + width)
