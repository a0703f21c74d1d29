"""Source positions: every AST and IR node carries the span of the spec text it came from."""

from dataclasses import dataclass


# A plain frozen dataclass rather than a Pydantic model: the parser makes one per AST node, and the IR
# (Pydantic) validates and serialises stdlib dataclasses all the same.
@dataclass(frozen=True, slots=True)
class Span:
    """A region of a spec file: 1-based line and column of its start and its end (end exclusive)."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


def point(path: str, line: int, column: int, width: int = 1) -> "Span":
    """A span of ``width`` characters on one line."""
    return Span(path=path, line=line, column=column, end_line=line, end_column=column + width)
