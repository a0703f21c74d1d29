"""Where each character of a YAML value stands in the YAML file, and the text a YAML spec becomes.

A YAML spec is read by writing the text-language spec it means, line by line, and parsing that with the
text parser. Every piece of that text remembers where it came from: a value's characters map one to one
onto the characters of its scalar in the YAML file (quotes and escapes accounted for), and the words the
reader adds (``for``, ``:``, ``layers``) map onto the YAML key they stand for. Spans of the parsed AST, and
of syntax errors, are moved back through this map, so every position is a line and column of the YAML file.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from archspec import ast
from archspec.errors import Diagnostic, SpecError
from archspec.source import Span

Pos = tuple[int, int]  # 1-based line and column in the YAML file
Where = list[Pos] | Pos  # a position per character of a piece (and one for its end), or one for all

_ESCAPE_WIDTH = {"x": 4, "u": 6, "U": 10}


class Source:
    """The lines of a YAML file, to find a scalar's characters."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def chars(self, value: str, start: Pos) -> list[Pos]:
        """The position of each character of ``value``, a scalar starting at ``start`` (its quote, if it
        is quoted), and one past its end. When the scalar cannot be followed character by character (a
        block scalar, an unusual escape), every character is put at the scalar's start."""
        found = self._follow(value, start[0] - 1, start[1] - 1)
        return found if found is not None else [start] * (len(value) + 1)

    def _follow(self, value: str, line: int, column: int) -> list[Pos] | None:
        lines = self.lines
        if line >= len(lines) or column >= len(lines[line]):
            return None
        quote = lines[line][column] if lines[line][column] in "'\"" else ""
        column += len(quote)
        out: list[Pos] = []
        index = 0
        while index < len(value):
            if line >= len(lines):
                return None
            text = lines[line]
            if column >= len(text):  # a line break, folded into a space (or kept as a newline)
                if value[index] not in " \n":
                    return None
                out.append((line + 1, column + 1))
                index += 1
                line, column = line + 1, 0
                while line < len(lines) and column < len(lines[line]) and lines[line][column] in " \t":
                    column += 1
                continue
            char = text[column]
            width = 1
            if quote == "'" and char == "'" and text[column + 1 : column + 2] == "'":
                width = 2
            elif quote == '"' and char == "\\":
                width = _ESCAPE_WIDTH.get(text[column + 1 : column + 2], 2)
            elif char != value[index]:
                return None
            out.append((line + 1, column + 1))
            index += 1
            column += width
        out.append((line + 1, column + 1))
        return out


@dataclasses.dataclass
class _Segment:
    start: int  # 1-based column in the generated line
    length: int
    where: Where

    def at(self, offset: int) -> Pos:
        if isinstance(self.where, tuple):
            return self.where
        return self.where[max(0, min(offset, len(self.where) - 1))]


class Generated:
    """The text-language spec being written for a YAML spec, with the map back to the YAML file."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._segments: list[list[_Segment]] = []

    def line(self, depth: int, *pieces: tuple[str, Where]) -> None:
        """Add a line indented ``depth`` levels, made of ``pieces`` (text and where it came from)."""
        text = "  " * depth
        segments: list[_Segment] = []
        for piece, where in pieces:
            if piece == "\n":  # a break inside brackets: the text goes on, on the next line
                self.lines.append(text)
                self._segments.append(segments)
                text, segments = "  " * depth + " " * 4, []
                continue
            segments.append(_Segment(len(text) + 1, len(piece), where))
            text += piece
        self.lines.append(text)
        self._segments.append(segments)

    def text(self) -> str:
        """The whole generated spec."""
        return "".join(line + "\n" for line in self.lines)

    def point(self, line: int, column: int) -> Pos:
        """The YAML position of a generated line and column (1-based)."""
        if not self._segments:
            return (1, 1)
        if line > len(self._segments) or not self._segments[line - 1]:
            # past the end, or a line of its own: the end of the last piece before it
            for segments in reversed(self._segments[: line - 1]):
                if segments:
                    last = segments[-1]
                    return last.at(last.length)
            return (1, 1)
        segments = self._segments[line - 1]
        for segment in segments:
            if column < segment.start + segment.length:
                return segment.at(column - segment.start)
        last = segments[-1]
        return last.at(last.length)

    def span(self, span: Span, path: str) -> Span:
        """``span`` (of the generated text) moved into the YAML file."""
        line, column = self.point(span.line, span.column)
        if span.end_line == span.line and span.end_column > span.column:
            end_line, end_column = self.point(span.end_line, span.end_column - 1)
            end_column += 1
        else:
            end_line, end_column = line, column + 1
        if (end_line, end_column) <= (line, column):
            end_line, end_column = line, column + 1
        return Span(path, line, column, end_line, end_column)

    def move(self, node: Any, path: str) -> Any:
        """An AST (or anything holding spans) with every span moved into the YAML file."""
        if isinstance(node, Span):
            return self.span(node, path)
        if isinstance(node, tuple):
            return tuple(self.move(item, path) for item in node)
        if isinstance(node, ast.Node):
            changes = {}
            for field in ast.fields(node):
                value = getattr(node, field)
                if isinstance(value, Span | tuple | ast.Node):
                    changes[field] = self.move(value, path)
            return ast.replace(node, **changes)
        return node

    def error(self, error: SpecError, path: str, yaml_text: str) -> SpecError:
        """A syntax error of the generated text, as an error of the YAML file."""
        moved = [self._diagnostic(d, path) for d in error.diagnostics]
        return SpecError(moved, {path: yaml_text})

    def _diagnostic(self, diagnostic: Diagnostic, path: str) -> Diagnostic:
        span = None if diagnostic.span is None else self.span(diagnostic.span, path)
        notes = tuple(self._diagnostic(note, path) for note in diagnostic.notes)
        return dataclasses.replace(diagnostic, span=span, notes=notes)
