"""Error messages, compared whole: every malformed spec here must fail with exactly this text.

Each case is a tiny spec and the full rendered message (``path:line:col: error: ...``, the source line,
the caret and the hint). The expected text is the review: when a message changes, the diff shows how.
No case may end in anything but a SpecError: a Lark exception, a Pydantic ValidationError, a KeyError or
any other traceback reaching a user is a bug.
"""

# ruff: noqa: E501 - the expected messages are verbatim, long lines included

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from archspec.errors import SpecError
from archspec.loader import load_program
from archspec.lower import lower


def dedent(text: str) -> str:
    """The text of a triple-quoted block: dedented, without its first line break."""
    return textwrap.dedent(text).removeprefix("\n")


@dataclass(frozen=True)
class Case:
    """A malformed spec (as ``t.arch``, or ``main.arch`` beside ``files``) and its whole error message."""

    id: str
    spec: str
    expected: str
    files: dict[str, str] = field(default_factory=dict)
    variant: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    path: str = "t.arch"


def error_of(text: str, path: str = "t.arch", **options: Any) -> SpecError:
    """The error lowering ``text`` raises; fails the test when it raises nothing or something else."""
    try:
        lower(load_program(Path(path), text=text), **options)
    except SpecError as error:
        return error
    except Exception as error:  # any other exception is what this test looks for
        pytest.fail(f"{type(error).__name__} instead of a SpecError: {error}")
    pytest.fail("the spec lowered without an error")


CASES = [
    Case(
        "missing_colon_after_network_name",
        """
        network n
          input: 3x8x8
          layers:
            relu
        """,
        """
        t.arch:1:10: error: missing ':' after the network name
           1 | network n
                        ^
        """,
    ),
    Case(
        "missing_colon_after_block_header",
        """
        block Unit(w)
          conv(w, 3)
        """,
        """
        t.arch:1:14: error: missing ':' after the block header
           1 | block Unit(w)
                            ^
        """,
    ),
    Case(
        "network_without_name",
        """
        network:
          input: 3x8x8
        """,
        """
        t.arch:1:8: error: a network needs a name: `network resnet:`
           1 | network:
                      ^
        """,
    ),
    Case(
        "block_without_parameter_list",
        """
        block Unit:
          relu
        """,
        """
        t.arch:1:11: error: a block needs a name and a parameter list: `block Name(a, b=1):`
           1 | block Unit:
                         ^
        """,
    ),
    Case(
        "unclosed_parenthesis_at_end_of_file",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3
        """,
        """
        t.arch:4:9: error: '(' was never closed
           4 |     conv(4, 3
                       ^
        """,
    ),
    Case(
        "unclosed_parenthesis_before_next_line",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3
            relu
        """,
        """
        t.arch:4:9: error: '(' was never closed
           4 |     conv(4, 3
                       ^
        """,
    ),
    Case(
        "unclosed_bracket",
        """
        network n:
          input: 3x8x8
          layers:
            x = [1, 2
            relu
        """,
        """
        t.arch:4:9: error: '[' was never closed
           4 |     x = [1, 2
                       ^
        """,
    ),
    Case(
        "unmatched_closing_parenthesis",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3))
        """,
        """
        t.arch:4:15: error: unmatched ')'
           4 |     conv(4, 3))
                             ^
        """,
    ),
    Case(
        "mismatched_bracket",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, [3, 3))
        """,
        """
        t.arch:4:18: error: unmatched ')'
           4 |     conv(4, [3, 3))
                                ^
        """,
    ),
    Case(
        "unindent_to_no_outer_level",
        """
        network n:
          input: 3x8x8
          layers:
              relu
            relu
        """,
        """
        t.arch:5:1: error: unindent does not match any outer indentation level
           5 |     relu
               ^
        """,
    ),
    Case(
        "stray_character",
        """
        network n:
          input: 3x8x8
          layers:
            relu $
        """,
        """
        t.arch:4:10: error: unexpected character '$'
           4 |     relu $
                        ^
        """,
    ),
    Case(
        "network_with_an_argument_list",
        """
        network ConvMixer(dim=768, depth=32):
          input: 3x8x8
          layers:
            relu
        """,
        """
        t.arch:1:18: error: unexpected '(' (expected ':', end of line)
           1 | network ConvMixer(dim=768, depth=32):
                                ^
          hint: a network takes no argument list: its parameters go in a `params:` section of its body, one `name = default` a line (`params:`, then `dim = 768` indented below it); `--set dim=1536` changes one
        """,
    ),
    Case(
        "repeat_statement",
        """
        network n:
          input: 3x8x8
          layers:
            repeat 3:
              relu
        """,
        """
        t.arch:4:12: error: unexpected '3'
           4 |     repeat 3:
                          ^
          hint: there is no `repeat` statement: a loop is `for i in range(n):` with its body below it, and `item * n` repeats one item (`Block(64) * n`, `(conv(64, 3) >> relu) * n`)
        """,
    ),
    Case(
        "shift_at_end_of_line",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3) >>
        """,
        """
        t.arch:4:18: error: '>>' must be followed by a layer
           4 |     conv(4, 3) >>
                                ^
          hint: a line break ends a chain; to go on on the next line, put the chain in parentheses: `(conv(4, 3) >>` and the rest of it, then `)`
        """,
    ),
    Case(
        "every_syntax_error_of_a_file",
        """
        network n:
          input: 3x8x8
          layers:
            conv(8 3) >> relu
            flatten
            relu relu
            stem:
              conv(8, 3 3)
              relu
            conv(8, 3) >>
        """,
        """
        t.arch:4:12: error: an argument list is missing a ',' between arguments
           4 |     conv(8 3) >> relu
                          ^
        t.arch:6:10: error: a layer name must be followed by ':'
           6 |     relu relu
                        ^^^^
          hint: `conv1: conv(64, 3)` names a layer, `convs.0: conv(64, 3)` one of a module list; two layers in a row are joined by `>>`
        t.arch:8:17: error: an argument list is missing a ',' between arguments
           8 |       conv(8, 3 3)
                               ^
        t.arch:10:18: error: '>>' must be followed by a layer
          10 |     conv(8, 3) >>
                                ^
          hint: a line break ends a chain; to go on on the next line, put the chain in parentheses: `(conv(8, 3) >>` and the rest of it, then `)`
        """,
    ),
    Case(
        "shift_twice",
        """
        network n:
          input: 3x8x8
          layers:
            relu >> >> relu
        """,
        """
        t.arch:4:13: error: '>>' must be followed by a layer
           4 |     relu >> >> relu
                           ^
        """,
    ),
    Case(
        "positional_after_keyword",
        """
        network n:
          input: 3x8x8
          layers:
            conv(stride=2, 4, 3)
        """,
        """
        t.arch:4:20: error: positional argument after a keyword argument
           4 |     conv(stride=2, 4, 3)
                                  ^
        """,
    ),
    Case(
        "layer_name_without_colon",
        """
        network n:
          input: 3x8x8
          layers:
            conv1 conv(4, 3)
        """,
        """
        t.arch:4:11: error: a layer name must be followed by ':'
           4 |     conv1 conv(4, 3)
                         ^^^^
          hint: `conv1: conv(64, 3)` names a layer, `convs.0: conv(64, 3)` one of a module list; two layers in a row are joined by `>>`
        """,
    ),
    Case(
        "missing_comma_between_arguments",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4 3)
        """,
        """
        t.arch:4:12: error: an argument list is missing a ',' between arguments
           4 |     conv(4 3)
                          ^
        """,
    ),
    Case(
        "section_without_indented_body",
        """
        network n:
          layers:
          input: 3x8x8
        """,
        """
        t.arch:3:3: error: expected an indented body after ':'
           3 |   input: 3x8x8
                 ^^^^^
        """,
    ),
    Case(
        "unterminated_string",
        """
        network n:
          input: 3x8x8
          layers:
            "stem: conv(4, 3)
        """,
        """
        t.arch:4:5: error: unterminated string (a string ends on the line it starts)
           4 |     "stem: conv(4, 3)
                   ^
        """,
    ),
    Case(
        "parameter_written_with_colon",
        """
        network n:
          input: 3x8x8
          params:
            width: 4
          layers:
            conv(width, 3)
        """,
        """
        t.arch:4:10: error: a binding is written `name = value`
           4 |     width: 4
                        ^
        """,
    ),
    Case(
        "if_without_colon",
        """
        network n:
          input: 3x8x8
          layers:
            if true relu
        """,
        """
        t.arch:4:13: error: missing ':' after the condition
           4 |     if true relu
                           ^^^^
        """,
    ),
    Case(
        "unexpected_word_after_input",
        """
        network n:
          input: 3x8x8 rgb
          layers:
            relu
        """,
        """
        t.arch:2:16: error: unexpected 'rgb' (expected end of line)
           2 |   input: 3x8x8 rgb
                              ^^^
        """,
    ),
    Case(
        "two_input_sections",
        """
        network n:
          input: 3x8x8
          input: 1x8x8
          layers:
            relu
        """,
        """
        t.arch:3:10: error: network 'n' has two 'input' sections
           3 |   input: 1x8x8
                        ^^^^^
        """,
    ),
    Case(
        "negative_repeat_count_is_a_syntax_error",
        """
        network n:
          input: 3x8x8
          layers:
            relu * -1
        """,
        """
        t.arch:4:12: error: a repeat count is a number, a name or an expression in parentheses: `* (depth - 1)`
           4 |     relu * -1
                          ^
        """,
    ),
    Case(
        "unknown_op_with_hint",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3) >> relux
        """,
        """
        t.arch:4:19: error: unknown op or block 'relux'
           4 |     conv(4, 3) >> relux
                                 ^^^^^
          hint: did you mean 'relu'?
        """,
    ),
    Case(
        "the_retired_mlp_op_points_at_the_std_block",
        """
        network n:
          input: 16x32
          layers:
            layernorm >> mlp(64, dropout=0.1)
        """,
        """
        t.arch:4:18: error: there is no op 'mlp' any more
           4 |     layernorm >> mlp(64, dropout=0.1)
                                ^^^^^^^^^^^^^^^^^^^^
          hint: the transformer MLP is a standard-library block now: from "std/mlp.arch" import MLP, then MLP(hidden_features, out_features)
        """,
    ),
    Case(
        "unknown_block_with_hint",
        """
        block Bottleneck(w):
          conv(w, 1)
        network n:
          input: 3x8x8
          layers:
            Botleneck(4)
        """,
        """
        t.arch:6:5: error: unknown op or block 'Botleneck'
           6 |     Botleneck(4)
                   ^^^^^^^^^^^^
          hint: did you mean 'Bottleneck'?
        """,
    ),
    Case(
        "unknown_block_in_override",
        """
        block Basic(w):
          conv(w, 3, pad=1)
        network n:
          input: 3x8x8
          params:
            unit = Basic
          layers:
            unit(4)
        """,
        """
        archspec: error: parameter 'unit' is a block, and there is no block 'Bottleneck'
          hint: the blocks: Basic
        """,
        overrides={"unit": "Bottleneck"},
    ),
    Case(
        "value_called_as_layer",
        """
        network n:
          input: 3x8x8
          layers:
            width = 4
            width(3)
        """,
        """
        t.arch:5:5: error: 'width' is an integer (4), not a layer or a block
           5 |     width(3)
                   ^^^^^^^^
        """,
    ),
    Case(
        "auto_outside_shortcut",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3) >> auto
        """,
        """
        t.arch:4:19: error: 'auto' is only meaningful as a residual shortcut (`shortcut: auto`)
           4 |     conv(4, 3) >> auto
                                 ^^^^
        """,
    ),
    Case(
        "unknown_argument_with_hint",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3, strid=2)
        """,
        """
        t.arch:4:16: error: conv has no argument 'strid'
           4 |     conv(4, 3, strid=2)
                              ^^^^^^^
          hint: did you mean 'stride'?
        """,
    ),
    Case(
        "unknown_argument_lists_the_arguments",
        """
        network n:
          input: 3x8x8
          layers:
            maxpool(2, window=2)
        """,
        """
        t.arch:4:16: error: maxpool has no argument 'window'
           4 |     maxpool(2, window=2)
                              ^^^^^^^^
          hint: its arguments: kernel_size, stride, padding, dilation, ceil_mode
        """,
    ),
    Case(
        "argument_given_twice",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3, stride=2, stride=1)
        """,
        """
        t.arch:4:26: error: conv got argument 'stride' twice
           4 |     conv(4, 3, stride=2, stride=1)
                                        ^^^^^^^^
        """,
    ),
    Case(
        "float_kernel_size",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3.5)
        """,
        """
        t.arch:4:13: error: 0: argument 'kernel_size' of conv must be an integer, got 3.5
           4 |     conv(4, 3.5)
                           ^^^
        """,
    ),
    Case(
        "bool_size",
        """
        network n:
          input: 3x8x8
          layers:
            conv(true, 3)
        """,
        """
        t.arch:4:10: error: 0: argument 'out_channels' of conv must be an integer, got true
           4 |     conv(true, 3)
                        ^^^^
        """,
    ),
    Case(
        "string_where_integer",
        """
        network n:
          input: 3x8x8
          layers:
            conv("wide", 3)
        """,
        """
        t.arch:4:10: error: 0: argument 'out_channels' of conv must be an integer, got "wide"
           4 |     conv("wide", 3)
                        ^^^^^^
        """,
    ),
    Case(
        "integer_where_boolean",
        """
        network n:
          input: 3x8x8
          layers:
            batchnorm(affine=1)
        """,
        """
        t.arch:4:15: error: 0: argument 'affine' of batchnorm must be true or false, got 1
           4 |     batchnorm(affine=1)
                             ^^^^^^^^
        """,
    ),
    Case(
        "string_choice",
        """
        network n:
          input: 3x8x8
          layers:
            gelu(approximate="fast")
        """,
        """
        t.arch:4:10: error: 0: argument 'approximate' of gelu must be one of "none" or "tanh", got "fast"
           4 |     gelu(approximate="fast")
                        ^^^^^^^^^^^^^^^^^^
        """,
    ),
    Case(
        "unknown_padding_word",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3, padding="full")
        """,
        """
        t.arch:4:16: error: 0: argument 'padding' of conv must be an integer, a pair [h, w], "same" or "valid", got "full"
           4 |     conv(4, 3, padding="full")
                              ^^^^^^^^^^^^^^
        """,
    ),
    Case(
        "same_padding_even_kernel",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 2, padding="same")
        """,
        """
        t.arch:4:16: error: 0: conv: padding="same" needs an odd kernel (or an even dilation)
           4 |     conv(4, 2, padding="same")
                              ^^^^^^^^^^^^^^
        """,
    ),
    Case(
        "kernel_size_list_of_three",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, [3, 3, 3])
        """,
        """
        t.arch:4:13: error: 0: argument 'kernel_size' of conv must be an integer or a pair [h, w], got [3, 3, 3]
           4 |     conv(4, [3, 3, 3])
                           ^^^^^^^^^
        """,
    ),
    Case(
        "probability_over_one",
        """
        network n:
          input: 3x8x8
          layers:
            dropout(1.5)
        """,
        """
        t.arch:4:13: error: 0: argument 'p' of dropout must be at most 1.0, got 1.5
           4 |     dropout(1.5)
                           ^^^
        """,
    ),
    Case(
        "too_many_positional_arguments",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3, 1, 0, 1, 1, true, none, 2)
        """,
        """
        t.arch:4:40: error: conv takes at most 8 positional arguments (out_channels, kernel_size, stride, padding, dilation, groups, bias, table), got 9
           4 |     conv(4, 3, 1, 0, 1, 1, true, none, 2)
                                                      ^
        """,
    ),
    Case(
        "op_without_arguments_given_one",
        """
        network n:
          input: 3x8x8
          layers:
            relu(0.1)
        """,
        """
        t.arch:4:10: error: relu takes no arguments, got 1
           4 |     relu(0.1)
                        ^^^
        """,
    ),
    Case(
        "missing_required_argument",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4)
        """,
        """
        t.arch:4:5: error: 0: conv needs 'kernel_size'
           4 |     conv(4)
                   ^^^^^^^
          hint: conv(out_channels, kernel_size, stride, padding, dilation, groups, bias, table)
        """,
    ),
    Case(
        "block_missing_parameter",
        """
        block Unit(width, stride=1):
          conv(width, 3, stride=stride)
        network n:
          input: 3x8x8
          layers:
            Unit(stride=2)
        """,
        """
        t.arch:6:5: error: block Unit needs parameter 'width'
           6 |     Unit(stride=2)
                   ^^^^^^^^^^^^^^
        """,
    ),
    Case(
        "block_too_many_arguments",
        """
        block Unit(width, stride=1):
          conv(width, 3, stride=stride)
        network n:
          input: 3x8x8
          layers:
            Unit(4, 2, 1)
        """,
        """
        t.arch:6:5: error: block Unit takes 2 arguments (width, stride), got 3
           6 |     Unit(4, 2, 1)
                   ^^^^^^^^^^^^^
        """,
    ),
    Case(
        "block_unknown_parameter_with_hint",
        """
        block Unit(width, stride=1):
          conv(width, 3, stride=stride)
        network n:
          input: 3x8x8
          layers:
            Unit(4, strides=2)
        """,
        """
        t.arch:6:13: error: block Unit has no parameter 'strides'
           6 |     Unit(4, strides=2)
                           ^^^^^^^^^
          hint: did you mean 'stride'?
        """,
    ),
    Case(
        # A new user's SqueezeNet: `expand3x3=` for `expand3x3_planes` is no near miss, and the message
        # gave no way to find the right name.
        "block_unknown_parameter_lists_the_parameters",
        """
        block Fire(squeeze_planes, expand1x1_planes, expand3x3_planes):
          conv(squeeze_planes, 1)
        network n:
          input: 3x8x8
          layers:
            Fire(16, 64, expand3x3=64)
        """,
        """
        t.arch:6:18: error: block Fire has no parameter 'expand3x3'
           6 |     Fire(16, 64, expand3x3=64)
                                ^^^^^^^^^^^^
          hint: its parameters: squeeze_planes, expand1x1_planes, expand3x3_planes
        """,
    ),
    Case(
        "block_without_parameters_given_one",
        """
        block Unit():
          relu
        network n:
          input: 3x8x8
          layers:
            Unit(width=4)
        """,
        """
        t.arch:6:10: error: block Unit has no parameter 'width'
           6 |     Unit(width=4)
                        ^^^^^^^
          hint: it has none
        """,
    ),
    Case(
        "reference_to_a_misspelt_input",
        """
        block Half():
          a: conv(4, 1)
          b: conv(4, 1) from inptu
          concat from a, b
        network n:
          input: 3x8x8
          layers:
            Half()
        """,
        """
        t.arch:3:22: error: unknown layer 'inptu' (a reference names an earlier named layer of this block)
           3 |   b: conv(4, 1) from inptu
                                    ^^^^^
          hint: did you mean 'input'?
        """,
    ),
    Case(
        "block_parameter_given_twice",
        """
        block Unit(width, stride=1):
          conv(width, 3, stride=stride)
        network n:
          input: 3x8x8
          layers:
            Unit(4, width=8)
        """,
        """
        t.arch:6:13: error: block Unit got parameter 'width' twice
           6 |     Unit(4, width=8)
                           ^^^^^^^
        """,
    ),
    Case(
        "single_input_op_given_two",
        """
        network n:
          input: 3x8x8
          layers:
            a: relu
            b: tanh
            relu from a, b
        """,
        """
        t.arch:6:5: error: relu takes 1 input, got 2
           6 |     relu from a, b
                   ^^^^
        """,
    ),
    Case(
        "unknown_name_with_hint",
        """
        network n:
          input: 3x8x8
          params:
            width = 4
          layers:
            conv(widht, 3)
        """,
        """
        t.arch:6:10: error: unknown name 'widht'
           6 |     conv(widht, 3)
                        ^^^^^
          hint: did you mean 'width'?
        """,
    ),
    Case(
        "network_parameter_used_inside_a_block",
        """
        block B(c):
          conv(c * width, 3)

        network n:
          input: 3x8x8
          params:
            width = 2
          layers:
            B(4)
        """,
        """
        t.arch:2:12: error: unknown name 'width'
           2 |   conv(c * width, 3)
                          ^^^^^
          hint: 'width' is a parameter of the network; a block sees only its own parameters and the file's top-level names: add 'width' to block B's parameters
        """,
    ),
    Case(
        "year_given_as_a_string",
        """
        network n:
          year: "2015"
          input: 3x8x8
          layers:
            relu
        """,
        """
        t.arch:2:3: error: metadata 'year' must be an integer, got "2015"
           2 |   year: "2015"
                 ^
        """,
    ),
    Case(
        "written_name_given_as_a_number",
        """
        network n:
          name: 5
          input: 3x8x8
          layers:
            relu
        """,
        """
        t.arch:2:3: error: metadata 'name' must be a string, got 5
           2 |   name: 5
                 ^
        """,
    ),
    Case(
        "division_by_zero",
        """
        network n:
          input: 3x8x8
          layers:
            groups = 0
            conv(4, 3, groups=4 // groups)
        """,
        """
        t.arch:5:23: error: division by zero
           5 |     conv(4, 3, groups=4 // groups)
                                     ^^^^^^^^^^^
        """,
    ),
    Case(
        "modulo_by_zero",
        """
        network n:
          input: 3x8x8
          layers:
            x = 7 % 0
        """,
        """
        t.arch:4:9: error: division by zero
           4 |     x = 7 % 0
                       ^^^^^
        """,
    ),
    Case(
        "unknown_function_with_hint",
        """
        network n:
          input: 3x8x8
          layers:
            conv(make_divisable(30, 8), 3)
        """,
        """
        t.arch:4:10: error: unknown function 'make_divisable'
           4 |     conv(make_divisable(30, 8), 3)
                        ^^^^^^^^^^^^^^^^^^^^^
          hint: did you mean 'make_divisible'?
        """,
    ),
    Case(
        "function_called_with_wrong_arguments",
        """
        network n:
          input: 3x8x8
          layers:
            conv(round(3.7, places=1), 3)
        """,
        """
        t.arch:4:10: error: wrong arguments to round()
           4 |     conv(round(3.7, places=1), 3)
                        ^^^^^^^^^^^^^^^^^^^^
          hint: call it as round(value, digits=none)
        """,
    ),
    Case(
        "function_given_wrong_type",
        """
        network n:
          input: 3x8x8
          layers:
            x = len(3)
        """,
        """
        t.arch:4:9: error: len() takes a list or a string, got an integer
           4 |     x = len(3)
                       ^^^^^^
        """,
    ),
    Case(
        "index_out_of_range",
        """
        network n:
          input: 3x8x8
          params:
            widths = [4, 8]
          layers:
            conv(widths[2], 3)
        """,
        """
        t.arch:6:17: error: index 2 is out of range for a list of 2
           6 |     conv(widths[2], 3)
                               ^
        """,
    ),
    Case(
        "index_not_an_integer",
        """
        network n:
          input: 3x8x8
          layers:
            x = [4, 8][1.0]
        """,
        """
        t.arch:4:16: error: an index must be an integer, got 1.0
           4 |     x = [4, 8][1.0]
                              ^^^
        """,
    ),
    Case(
        "index_into_a_number",
        """
        network n:
          input: 3x8x8
          layers:
            x = 4[0]
        """,
        """
        t.arch:4:9: error: cannot index an integer (4)
           4 |     x = 4[0]
                       ^^^^
        """,
    ),
    Case(
        "condition_not_a_boolean",
        """
        network n:
          input: 3x8x8
          layers:
            depth = 2
            if depth:
              relu
        """,
        """
        t.arch:5:8: error: a condition must be true or false, got 2
           5 |     if depth:
                      ^^^^^
        """,
    ),
    Case(
        "and_on_a_number",
        """
        network n:
          input: 3x8x8
          layers:
            x = true and 1
        """,
        """
        t.arch:4:18: error: expected true or false, got the integer 1
           4 |     x = true and 1
                                ^
        """,
    ),
    Case(
        "conditional_expression_not_a_boolean",
        """
        network n:
          input: 3x8x8
          layers:
            x = 4 if "yes" else 8
        """,
        """
        t.arch:4:14: error: expected true or false, got the string "yes"
           4 |     x = 4 if "yes" else 8
                            ^^^^^
        """,
    ),
    Case(
        "for_over_a_number",
        """
        network n:
          input: 3x8x8
          layers:
            for i in 3:
              relu
        """,
        """
        t.arch:4:14: error: 'for' needs a list, got the integer 3
           4 |     for i in 3:
                            ^
        """,
    ),
    Case(
        "for_unpacking_wrong_length",
        """
        network n:
          input: 3x8x8
          layers:
            for c, s in [[4, 1], [8]]:
              conv(c, 3, stride=s)
        """,
        """
        t.arch:4:17: error: cannot unpack [8] into 2 names (c, s)
           4 |     for c, s in [[4, 1], [8]]:
                               ^^^^^^^^^^^^^
        """,
    ),
    Case(
        "for_unpacking_a_number",
        """
        network n:
          input: 3x8x8
          layers:
            for c, s in [4, 8]:
              conv(c, 3, stride=s)
        """,
        """
        t.arch:4:17: error: cannot unpack 4 into 2 names (c, s)
           4 |     for c, s in [4, 8]:
                               ^^^^^^
        """,
    ),
    Case(
        "list_plus_number",
        """
        network n:
          input: 3x8x8
          layers:
            x = [1, 2] + 3
        """,
        """
        t.arch:4:9: error: unsupported operand types for +: list [1, 2] and integer 3
           4 |     x = [1, 2] + 3
                       ^^^^^^^^^^
        """,
    ),
    Case(
        "compare_string_with_number",
        """
        network n:
          input: 3x8x8
          layers:
            x = "a" < 3
        """,
        """
        t.arch:4:9: error: cannot compare string "a" with integer 3
           4 |     x = "a" < 3
                       ^^^^^^^
        """,
    ),
    Case(
        "negate_a_string",
        """
        network n:
          input: 3x8x8
          layers:
            x = -"a"
        """,
        """
        t.arch:4:9: error: cannot negate a string
           4 |     x = -"a"
                       ^^^^
        """,
    ),
    Case(
        "exponent_too_large",
        """
        network n:
          input: 3x8x8
          layers:
            x = 2 ** 100
        """,
        """
        t.arch:4:9: error: exponent too large
           4 |     x = 2 ** 100
                       ^^^^^^^^
        """,
    ),
    Case(
        "integer_too_large",
        """
        network n:
          input: 3x8x8
          layers:
            x = 10 ** 10 * 10 ** 10
        """,
        """
        t.arch:4:9: error: integer 100000000000000000000 is too large (the limit is 10**15)
           4 |     x = 10 ** 10 * 10 ** 10
                       ^^^^^^^^^^^^^^^^^^^
        """,
    ),
    Case(
        "zero_to_negative_power",
        """
        network n:
          input: 3x8x8
          layers:
            x = 0 ** -1
        """,
        """
        t.arch:4:9: error: division by zero (0 to a negative power)
           4 |     x = 0 ** -1
                       ^^^^^^^
        """,
    ),
    Case(
        "repeat_count_not_an_integer",
        """
        network n:
          input: 3x8x8
          layers:
            relu * 1.5
        """,
        """
        t.arch:4:12: error: a repeat count must be a non-negative integer, got 1.5
           4 |     relu * 1.5
                          ^^^
        """,
    ),
    Case(
        "template_unknown_name",
        """
        network n:
          input: 3x8x8
          layers:
            "layer{j}": relu
        """,
        """
        t.arch:4:5: error: unknown name 'j' in the name template
           4 |     "layer{j}": relu
                   ^^^^^^^^^^
        """,
    ),
    Case(
        "reference_to_unknown_layer_with_hint",
        """
        network n:
          input: 3x8x8
          layers:
            stem: conv(4, 3)
            relu
            tanh from stm
        """,
        """
        t.arch:6:15: error: unknown layer 'stm' (a reference names an earlier named layer of this network)
           6 |     tanh from stm
                             ^^^
          hint: did you mean 'stem'?
        """,
    ),
    Case(
        "reference_into_a_nested_sequence",
        """
        network n:
          input: 3x8x8
          layers:
            stem:
              conv1: conv(4, 3)
              relu
            relu from stem.conv1
        """,
        """
        t.arch:7:15: error: 'stem.conv1' is inside 'stem': a reference can name only earlier layers of this sequence or of the sequences around it
           7 |     relu from stem.conv1
                             ^^^^^^^^^^
          hint: give the layer you want a name at this level instead of 'stem.conv1'
        """,
    ),
    Case(
        "reference_to_a_later_layer",
        """
        network n:
          input: 3x8x8
          layers:
            a: relu from b
            b: relu
        """,
        """
        t.arch:4:18: error: unknown layer 'b' (a reference names an earlier named layer of this network)
           4 |     a: relu from b
                                ^
        """,
    ),
    Case(
        "reference_from_a_block_to_the_network",
        """
        block Unit():
          relu from stem
        network n:
          input: 3x8x8
          layers:
            stem: conv(4, 3)
            Unit()
        """,
        """
        t.arch:2:13: error: unknown layer 'stem' (a reference names an earlier named layer of this block)
           2 |   relu from stem
                           ^^^^
        """,
    ),
    Case(
        "import_cycle",
        """
        from "a.arch" import A
        network n:
          input: 3x8x8
          layers:
            A()
        """,
        """
        b.arch:1:1: error: import cycle: a.arch -> b.arch -> a.arch
           1 | from "a.arch" import A
               ^
        """,
        files={
            "a.arch": """
            from "b.arch" import B
            block A():
              B()
            """,
            "b.arch": """
            from "a.arch" import A
            block B():
              relu
            """,
        },
        path="main.arch",
    ),
    Case(
        "import_of_missing_block",
        """
        from "blocks.arch" import Bottlneck
        network n:
          input: 3x8x8
          layers:
            Bottlneck(4)
        """,
        """
        main.arch:1:27: error: 'blocks.arch' defines no block 'Bottlneck'
           1 | from "blocks.arch" import Bottlneck
                                         ^^^^^^^^^
          hint: did you mean 'Bottleneck'?
        """,
        files={
            "blocks.arch": """
            block Bottleneck(w):
              conv(w, 1)
            """,
        },
        path="main.arch",
    ),
    Case(
        "import_of_missing_file",
        """
        import "nosuch.arch"
        network n:
          input: 3x8x8
          layers:
            relu
        """,
        """
        main.arch:1:1: error: cannot import 'nosuch.arch': no such file nosuch.arch
           1 | import "nosuch.arch"
               ^
        """,
        path="main.arch",
    ),
    Case(
        "error_inside_an_imported_file",
        """
        from "blocks.arch" import Unit
        network n:
          input: 3x8x8
          layers:
            u: Unit(4)
        """,
        """
        main.arch:5:8: error: u.1: linear expects a vector or a token sequence, got 4x6x6 (line 2 of block Unit)
           5 |     u: Unit(4)
                      ^^^^^^^
          hint: add `flatten` (or a global pooling) before it; on a channels-last HxWxC map, linear(..., dim=-1) works per pixel
        blocks.arch:2:17: note: in block Unit, line 2
           2 |   conv(w, 3) >> linear(10)
                               ^^^^^^^^^^
        """,
        files={
            "blocks.arch": """
            block Unit(w):
              conv(w, 3) >> linear(10)
            """,
        },
        path="main.arch",
    ),
    Case(
        "syntax_error_in_an_imported_file",
        """
        import "blocks.arch"
        network n:
          input: 3x8x8
          layers:
            relu
        """,
        """
        blocks.arch:1:14: error: missing ':' after the block header
           1 | block Unit(w)
                            ^
        """,
        files={
            "blocks.arch": """
            block Unit(w)
              conv(w, 3)
            """,
        },
        path="main.arch",
    ),
    Case(
        "mutual_recursion",
        """
        block A():
          relu
          B()
        block B():
          A()
        network n:
          input: 3x8x8
          layers:
            A()
        """,
        """
        t.arch:5:3: error: recursive block 'A': A -> B -> A
           5 |   A()
                 ^^^
        """,
    ),
    Case(
        "self_recursion",
        """
        block A(depth):
          relu
          A(depth - 1)
        network n:
          input: 3x8x8
          layers:
            A(3)
        """,
        """
        t.arch:3:3: error: recursive block 'A': A -> A
           3 |   A(depth - 1)
                 ^^^^^^^^^^^^
        """,
    ),
    Case(
        "duplicate_layer_name",
        """
        network n:
          input: 3x8x8
          layers:
            conv1: conv(4, 3)
            conv1: conv(4, 3)
        """,
        """
        t.arch:5:5: error: duplicate layer name 'conv1' in the network
           5 |     conv1: conv(4, 3)
                   ^^^^^
        """,
    ),
    Case(
        "duplicate_name_from_template",
        """
        network n:
          input: 3x8x8
          layers:
            for i in [1, 1]:
              "conv{i}": conv(3, 1)
        """,
        """
        t.arch:5:7: error: duplicate layer name 'conv1' in the network
           5 |       "conv{i}": conv(3, 1)
                     ^^^^^^^^^
        """,
    ),
    Case(
        "duplicate_block_definition",
        """
        block Unit():
          relu
        block Unit():
          tanh
        network n:
          input: 3x8x8
          layers:
            Unit()
        """,
        """
        t.arch:3:1: error: block 'Unit' is defined twice (first at line 1)
           3 | block Unit():
               ^^^^^^^^^^
        """,
    ),
    Case(
        "name_with_a_dot_from_template",
        """
        network n:
          input: 3x8x8
          layers:
            for v in [1.5]:
              "scale{v}": relu
        """,
        """
        t.arch:5:7: error: layer name "scale1.5" cannot name a module (a name is non-empty and printable, without '.')
           5 |       "scale{v}": relu
                     ^^^^^^^^^^
          hint: a dot written in a label separates the levels of a module list (`convs.0`); a template field cannot put one in: write '_' or '-' instead
        """,
    ),
    Case(
        "empty_name",
        """
        network n:
          input: 3x8x8
          layers:
            "": conv(4, 3)
        """,
        """
        t.arch:4:5: error: layer name "" cannot name a module (a name is non-empty and printable, without '.')
           4 |     "": conv(4, 3)
                   ^^
        """,
    ),
    Case(
        "template_reference_to_a_missing_layer",
        """
        network n:
          input: 3x8x8
          layers:
            for j in range(2):
              "layer{j}": conv(4, 3, pad=1) from "layer{j - 1}"
        """,
        """
        t.arch:5:42: error: unknown layer 'layer-1' (a reference names an earlier named layer of this network)
           5 |       "layer{j}": conv(4, 3, pad=1) from "layer{j - 1}"
                                                        ^^^^^^^^^^^^^^
        """,
    ),
    Case(
        "template_expression_error",
        """
        network n:
          input: 3x8x8
          layers:
            "x{1 +}": relu
        """,
        """
        t.arch:4:5: error: unexpected end of file in the name template {1 +}
           4 |     "x{1 +}": relu
                   ^^^^^^^^
        """,
    ),
    Case(
        "concat_of_different_spatial_sizes",
        """
        network n:
          input: 3x8x8
          layers:
            concat:
              conv(4, 3)
              conv(4, 1)
        """,
        """
        t.arch:4:5: error: 2: concat: inputs must agree in every dimension but the channels: 4x6x6 vs 4x8x8
           4 |     concat:
                   ^^^^^^^
           5 |       conv(4, 3)
                     ^^^^^^^^^^
           6 |       conv(4, 1)
                     ^^^^^^^^^^
        """,
    ),
    Case(
        "add_of_different_channels",
        """
        network n:
          input: 3x8x8
          layers:
            a: conv(4, 1)
            b: conv(8, 1) from input
            sum: add from a, b
        """,
        """
        t.arch:6:10: error: sum: add: input shapes do not broadcast: 4x8x8 vs 8x8x8
           6 |     sum: add from a, b
                        ^^^
          hint: aligned from the last axis, each size must agree or be 1 (e.g. 64x56x56 and 64x1x1)
        """,
    ),
    Case(
        "mul_of_a_map_and_a_vector",
        """
        network n:
          input: 3x8x8
          layers:
            a: conv(4, 1)
            v: (global_avgpool >> flatten)
            gated: mul from a, v
        """,
        """
        t.arch:6:12: error: gated: mul: input shapes do not broadcast: 4x8x8 vs 4
           6 |     gated: mul from a, v
                          ^^^
          hint: a shorter shape lines up with the last axes of the longer one; rearrange("c -> c 1 1") makes a vector of C a Cx1x1 map
        """,
    ),
    Case(
        "stochastic_depth_rate_over_one",
        """
        network n:
          input: 3x8x8
          layers:
            residual:
              conv(3, 3, pad=1)
              sd: stochastic_depth(1.5)
        """,
        """
        t.arch:6:28: error: sd: argument 'p' of stochastic_depth must be at most 1.0, got 1.5
           6 |       sd: stochastic_depth(1.5)
                                          ^^^
        """,
    ),
    Case(
        "stochastic_depth_unknown_mode",
        """
        network n:
          input: 3x8x8
          layers:
            stochastic_depth(0.1, mode="col")
        """,
        """
        t.arch:4:27: error: 0: argument 'mode' of stochastic_depth must be one of "row" or "batch", got "col"
           4 |     stochastic_depth(0.1, mode="col")
                                         ^^^^^^^^^^
        """,
    ),
    Case(
        "layernorm_on_a_map_without_dim",
        """
        network n:
          input: 3x8x8
          layers:
            x: layernorm
        """,
        """
        t.arch:4:8: error: x: layernorm on the 3-d map 3x8x8 needs `dim` (a CxHxW and an HxWxC map look alike)
           4 |     x: layernorm
                      ^^^^^^^^^
          hint: layernorm(dim=0) works on the channels of a CxHxW map; layernorm(dim=-1) on the last dimension of a channels-last HxWxC map (after permute([1, 2, 0]))
        """,
    ),
    Case(
        "layernorm_dim_over_height",
        """
        network n:
          input: 3x8x8
          layers:
            x: layernorm(dim=1)
        """,
        """
        t.arch:4:18: error: x: layernorm: dim 1 is not supported on 3x8x8 (dim is 0 or -1; 0 only on a CxHxW map)
           4 |     x: layernorm(dim=1)
                                ^^^^^
        """,
    ),
    Case(
        "permute_that_is_not_an_order",
        """
        network n:
          input: 3x8x8
          layers:
            x: permute([0, 1])
        """,
        """
        t.arch:4:16: error: x: permute: dims [0, 1] is not an order of the 3 dimensions of 3x8x8
           4 |     x: permute([0, 1])
                              ^^^^^^
          hint: a list of 0 to 2, each once
        """,
    ),
    Case(
        "chunk_part_that_does_not_exist",
        """
        network n:
          input: 5x8x8
          layers:
            x: chunk(4, 3)
        """,
        """
        t.arch:4:17: error: x: chunk: part 3 does not exist: 5 channels in 4 chunks make 3 parts (2, 2, 1)
           4 |     x: chunk(4, 3)
                               ^
        """,
    ),
    Case(
        "split_sizes_that_do_not_add_up",
        """
        network n:
          input: 6x8x8
          layers:
            x: split([2, 3], 0)
        """,
        """
        t.arch:4:14: error: x: split: sizes [2, 3] add up to 5, not the 6 channels of 6x8x8
           4 |     x: split([2, 3], 0)
                            ^^^^^^
        """,
    ),
    Case(
        "channel_shuffle_with_indivisible_channels",
        """
        network n:
          input: 6x8x8
          layers:
            x: channel_shuffle(4)
        """,
        """
        t.arch:4:24: error: x: channel_shuffle: 6x8x8 is not a CxHxW map with channels divisible by 4 groups
           4 |     x: channel_shuffle(4)
                                      ^
        """,
    ),
    Case(
        "block_input_that_does_not_exist",
        """
        block Fuse():
          b: conv(4, 1) from inputs[2]

        network n:
          input: 3x8x8
          layers:
            a: conv(4, 1)
            f: Fuse() from a, input
        """,
        """
        t.arch:2:22: error: inputs[2] does not exist: this block instance has 2 inputs
           2 |   b: conv(4, 1) from inputs[2]
                                    ^^^^^^^^^
        """,
    ),
    Case(
        "indexed_reference_outside_a_block",
        """
        network n:
          input: 3x8x8
          layers:
            a: conv(4, 1) from inputs[0]
        """,
        """
        t.arch:4:24: error: `inputs[i]` names the inputs of a block; the network has one input
           4 |     a: conv(4, 1) from inputs[0]
                                      ^^^^^^^^^
        """,
    ),
    Case(
        "indexed_reference_to_a_layer",
        """
        network n:
          input: 3x8x8
          layers:
            a: conv(4, 1)
            b: conv(4, 1) from a[0]
        """,
        """
        t.arch:5:24: error: 'a[0]': only a block's `inputs` can be indexed in a reference
           5 |     b: conv(4, 1) from a[0]
                                      ^^^^
        """,
    ),
    Case(
        "mul_merge_with_one_branch",
        """
        network n:
          input: 3x8x8
          layers:
            mul:
              conv(4, 1)
        """,
        """
        t.arch:4:5: error: mul needs at least two branches, got 1
           4 |     mul:
                   ^^^^
           5 |       conv(4, 1)
                     ^^^^^^^^^^
        """,
    ),
    Case(
        "residual_body_does_not_match_shortcut",
        """
        block Unit(w):
          residual:
            conv(w, 3, stride=2, pad=1)
          relu
        network n:
          input: 4x8x8
          layers:
            layer1: Unit(8)
        """,
        """
        t.arch:8:13: error: layer1.1: residual: the body's output 8x4x4 does not match the shortcut's 4x8x8 (line 2 of block Unit)
           8 |     layer1: Unit(8)
                           ^^^^^^^
          hint: add `shortcut: auto` for a 1x1 projection, or write the projection
        t.arch:2:3: note: in block Unit, line 2
           2 |   residual:
                 ^^^^^^^^^
           3 |     conv(w, 3, stride=2, pad=1)
                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^
        """,
    ),
    Case(
        "linear_without_flatten",
        """
        network n:
          input: 3x8x8
          layers:
            features: conv(4, 3)
            fc: linear(10)
        """,
        """
        t.arch:5:9: error: fc: linear expects a vector or a token sequence, got 4x6x6
           5 |     fc: linear(10)
                       ^^^^^^^^^^
          hint: add `flatten` (or a global pooling) before it; on a channels-last HxWxC map, linear(..., dim=-1) works per pixel
        """,
    ),
    Case(
        "conv_after_flatten",
        """
        network n:
          input: 3x8x8
          layers:
            flatten
            conv(4, 3)
        """,
        """
        t.arch:5:5: error: 1: conv expects an image CxHxW, got 192
           5 |     conv(4, 3)
                   ^^^^^^^^^^
          hint: spatial ops work on CxHxW feature maps; did a flatten come too early?
        """,
    ),
    Case(
        "conv_kernel_larger_than_input",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3, stride=2) >> conv(8, 5)
        """,
        """
        t.arch:4:29: error: 1: conv: kernel 5x5 does not fit the input 4x3x3 (output would be -1x-1)
           4 |     conv(4, 3, stride=2) >> conv(8, 5)
                                           ^^^^^^^^^^
        """,
    ),
    Case(
        "pool_window_larger_than_input",
        """
        network n:
          input: 3x8x8
          layers:
            maxpool(2) >> maxpool(5)
        """,
        """
        t.arch:4:19: error: 1: maxpool: kernel 5x5 does not fit the input 3x4x4
           4 |     maxpool(2) >> maxpool(5)
                                 ^^^^^^^^^^
        """,
    ),
    Case(
        "zero_channels",
        """
        network n:
          input: 3x8x8
          layers:
            conv(0, 3)
        """,
        """
        t.arch:4:10: error: 0: argument 'out_channels' of conv must be greater than 0, got 0
           4 |     conv(0, 3)
                        ^
        """,
    ),
    Case(
        "negative_channels",
        """
        network n:
          input: 3x8x8
          layers:
            conv(-1, 3)
        """,
        """
        t.arch:4:10: error: 0: argument 'out_channels' of conv must be greater than 0, got -1
           4 |     conv(-1, 3)
                        ^^
        """,
    ),
    Case(
        "zero_input_size",
        """
        network n:
          input: 0x8x8
          layers:
            relu
        """,
        """
        t.arch:2:10: error: input must be a list of positive integers, got [0, 8, 8]
           2 |   input: 0x8x8
                        ^^^^^
        """,
    ),
    Case(
        "input_not_a_shape",
        """
        network n:
          input: "rgb"
          layers:
            relu
        """,
        """
        t.arch:2:10: error: input must be a list of positive integers, got "rgb"
           2 |   input: "rgb"
                        ^^^^^
        """,
    ),
    Case(
        "groups_not_dividing_channels",
        """
        network n:
          input: 3x8x8
          layers:
            conv(6, 3, groups=2)
        """,
        """
        t.arch:4:16: error: 0: conv: in_channels (3) is not divisible by groups (2)
           4 |     conv(6, 3, groups=2)
                              ^^^^^^^^
        """,
    ),
    Case(
        "connection_table_rows",
        """
        network n:
          input: 3x8x8
          layers:
            conv(3, 5, table=[[0, 1], [1, 2]])
        """,
        """
        t.arch:4:16: error: 0: conv: the connection table has 2 rows for 3 output channels
           4 |     conv(3, 5, table=[[0, 1], [1, 2]])
                              ^^^^^^^^^^^^^^^^^^^^^^
        """,
    ),
    Case(
        "connection_table_channel_out_of_range",
        """
        network n:
          input: 3x8x8
          layers:
            conv(2, 5, table=[[0, 1], [2, 3]])
        """,
        """
        t.arch:4:16: error: 0: conv: connection table row [2, 3] must list distinct input channels in 0..2
           4 |     conv(2, 5, table=[[0, 1], [2, 3]])
                              ^^^^^^^^^^^^^^^^^^^^^^
        """,
    ),
    Case(
        "attention_heads_not_dividing_width",
        """
        network n:
          input: 3x8x8
          layers:
            patch_embed(10, 4)
            class_token
            encoder:
              attention(4)
        """,
        """
        t.arch:7:17: error: encoder.0: attention: width 10 is not divisible by 4 heads
           7 |       attention(4)
                               ^
        """,
    ),
    Case(
        "position_embedding_length_mismatch",
        """
        network n:
          input: 3x32x32
          params:
            patch = 8
          layers:
            patch_embed(16, patch) >> class_token >> position_embedding(length=(224 // patch) ** 2 + 1)
        """,
        """
        t.arch:6:46: error: 2: position_embedding holds 785 positions but the input has 17 tokens
           6 |     patch_embed(16, patch) >> class_token >> position_embedding(length=(224 // patch) ** 2 + 1)
                                                            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
          hint: the input size must match the size the embedding was made for
        """,
    ),
    Case(
        "patch_size_not_dividing_input",
        """
        network n:
          input: 3x8x8
          layers:
            patch_embed(16, 3)
        """,
        """
        t.arch:4:21: error: 0: patch_embed: input 3x8x8 is not divisible into 3x3 patches
           4 |     patch_embed(16, 3)
                                   ^
        """,
    ),
    Case(
        "attention_on_a_feature_map",
        """
        network n:
          input: 3x8x8
          layers:
            attention(2)
        """,
        """
        t.arch:4:5: error: 0: attention expects a token sequence NxD, got 3x8x8
           4 |     attention(2)
                   ^^^^^^^^^^^^
          hint: turn a feature map into tokens with patch_embed
        """,
    ),
    Case(
        "shortcut_auto_cannot_project",
        """
        network n:
          input: 3x8x8
          layers:
            flatten
            residual:
              linear(4)
            shortcut: auto
        """,
        """
        t.arch:7:5: error: 2: shortcut auto can only project feature maps, not 192 to 4
           7 |     shortcut: auto
                   ^
        """,
    ),
    Case(
        "merge_with_one_branch",
        """
        network n:
          input: 3x8x8
          layers:
            concat:
              conv(4, 1)
        """,
        """
        t.arch:4:5: error: concat needs at least two branches, got 1
           4 |     concat:
                   ^^^^^^^
           5 |       conv(4, 1)
                     ^^^^^^^^^^
        """,
    ),
    Case(
        "shape_error_deep_in_blocks",
        """
        block Unit(w):
          conv1: conv(w, 3)
          conv2: conv(w, 3)
        block Stage(w, n):
          Unit(w) * n
        network n:
          input: 3x12x12
          layers:
            layer1: Stage(4, 2)
            layer2: Stage(8, 2)
        """,
        """
        t.arch:10:13: error: layer2.0.conv2: conv: kernel 3x3 does not fit the input 8x2x2 (output would be 0x0) (line 3 of block Unit)
          10 |     layer2: Stage(8, 2)
                           ^^^^^^^^^^^
        t.arch:5:3: note: in block Stage, line 5
           5 |   Unit(w) * n
                 ^^^^^^^
        t.arch:3:10: note: in block Unit, line 3
           3 |   conv2: conv(w, 3)
                        ^^^^^^^^^^
        """,
    ),
    Case(
        "blocks_but_no_network",
        """
        block Unit(w):
          conv(w, 3)
        """,
        """
        t.arch:1:1: error: this file defines blocks but no `network name:` section
           1 | block Unit(w):
               ^
        """,
    ),
    Case(
        "comment_only_file",
        """
        # a network will come here
        """,
        """
        t.arch:1:1: error: empty spec: a file needs a `network name:` section
           1 | # a network will come here
               ^
        """,
    ),
    Case(
        "network_without_input",
        """
        network n:
          layers:
            relu
        """,
        """
        t.arch:1:1: error: network 'n' has no `input:` shape
           1 | network n:
               ^^^^^^^^^
        """,
    ),
    Case(
        "network_without_layers",
        """
        network n:
          input: 3x8x8
        """,
        """
        t.arch:1:1: error: network 'n' has no `layers:` section
           1 | network n:
               ^^^^^^^^^
        """,
    ),
    Case(
        "two_networks_in_one_file",
        """
        network a:
          input: 3x8x8
          layers:
            relu
        network b:
          input: 3x8x8
          layers:
            relu
        """,
        """
        t.arch:5:1: error: one file defines one network; use variants for a family
           5 | network b:
               ^^^^^^^^^
        """,
    ),
    Case(
        "unknown_variant",
        """
        network net:
          input: 3x8x8
          params:
            width = 4
          variants:
            small: width=2
            large: width=8
          layers:
            conv(width, 3)
        """,
        """
        t.arch:1:1: error: network 'net' has no variant 'larg'
           1 | network net:
               ^^^^^^^^^^^
          hint: did you mean 'large'?
        """,
        variant="larg",
    ),
    Case(
        "variant_of_a_network_without_variants",
        """
        network n:
          input: 3x8x8
          layers:
            relu
        """,
        """
        t.arch:1:1: error: network 'n' has no variants (asked for 'small')
           1 | network n:
               ^^^^^^^^^
        """,
        variant="small",
    ),
    Case(
        "unknown_parameter_override",
        """
        network net:
          input: 3x8x8
          params:
            width = 4
          variants:
            small: width=2
            large: width=8
          layers:
            conv(width, 3)
        """,
        """
        archspec: error: 'widht' is not a parameter of net
          hint: did you mean 'width'?
        """,
        overrides={"widht": 3},
    ),
    Case(
        "variant_row_sets_unknown_parameter",
        """
        network net:
          input: 3x8x8
          params:
            width = 4
          variants:
            small: width=2
            large: widht=8
          layers:
            conv(width, 3)
        """,
        """
        t.arch:7:12: error: variant 'large' sets 'widht', which is not a parameter of net
           7 |     large: widht=8
                          ^^^^^^^
          hint: did you mean 'width'?
        """,
    ),
    Case(
        "metadata_of_the_wrong_type",
        """
        network n:
          title: "A network"
          year: "2015a"
          input: 3x8x8
          layers:
            relu
        """,
        """
        t.arch:3:3: error: metadata 'year' must be an integer, got "2015a"
           3 |   year: "2015a"
                 ^
        """,
    ),
    Case(
        "unexpected_indentation",
        """
        network n:
          input: 3x8x8
          layers:
            conv(4, 3)
              relu
        """,
        """
        t.arch:5:7: error: unexpected indentation (only a line that ends with ':' opens an indented body)
           5 |       relu
                     ^
        """,
    ),
    Case(
        "group_without_indented_body",
        """
        network n:
          input: 3x8x8
          layers:
            stem:
            relu
        """,
        """
        t.arch:5:5: error: expected an indented body after ':'
           5 |     relu
                   ^^^^
        """,
    ),
    Case(
        "init_unknown_op_near",
        """
        network n:
          input: 3x8x8
          init:
            convv: zeros
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:5: error: init rule for 'convv': there is no op of that name
           4 |     convv: zeros
                   ^^^^^
          hint: did you mean 'conv'?
        """,
    ),
    Case(
        "init_unknown_op_far",
        """
        network n:
          input: 3x8x8
          init:
            zebra: zeros
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:5: error: init rule for 'zebra': there is no op of that name; a quoted target is a name pattern (`"fc": ...`)
           4 |     zebra: zeros
                   ^^^^^
          hint: the ops with parameters: attention, batchnorm, class_token, conv, groupnorm, layer_scale, layernorm, linear, patch_embed, patch_merging, position_embedding, shifted_window_attention, subsample
        """,
    ),
    Case(
        "init_rule_for_the_retired_mlp_op_points_at_the_block_rule",
        """
        network n:
          input: 16x32
          init:
            mlp: xavier_uniform
          layers:
            linear(8)
        """,
        """
        t.arch:4:5: error: init rule for 'mlp': there is no op 'mlp' any more
           4 |     mlp: xavier_uniform
                   ^^^
          hint: the transformer MLP is a standard-library block now: from "std/mlp.arch" import MLP, then MLP(hidden_features, out_features); a rule naming the block (MLP: ...) sets the layers inside it
        """,
    ),
    Case(
        "init_op_without_parameters",
        """
        network n:
          input: 3x8x8
          init:
            relu: zeros
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:5: error: init rule for 'relu': relu has no parameters to initialise
           4 |     relu: zeros
                   ^^^^
          hint: the ops with parameters: attention, batchnorm, class_token, conv, groupnorm, layer_scale, layernorm, linear, patch_embed, patch_merging, position_embedding, shifted_window_attention, subsample
        """,
    ),
    Case(
        "init_unknown_parameter",
        """
        network n:
          input: 3x8x8
          init:
            batchnorm: weight=ones, bias=zeros, running_mean=zeros
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:41: error: init rule for 'batchnorm': no parameter 'running_mean'
           4 |     batchnorm: weight=ones, bias=zeros, running_mean=zeros
                                                       ^^^^^^^^^^^^^^^^^^
          hint: its parameters: weight, bias
        """,
    ),
    Case(
        "init_unknown_function_far",
        """
        network n:
          input: 3x8x8
          init:
            conv: frobnicate
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:11: error: unknown init function 'frobnicate'
           4 |     conv: frobnicate
                         ^^^^^^^^^^
          hint: the init functions: zeros, ones, constant, normal, uniform, trunc_normal, kaiming_normal, kaiming_uniform, xavier_normal, xavier_uniform, orthogonal
        """,
    ),
    Case(
        "init_bad_mode",
        """
        network n:
          input: 3x8x8
          init:
            conv: kaiming_normal(mode="fanout")
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:31: error: kaiming_normal: mode must be one of "fan_in", "fan_out", got "fanout"
           4 |     conv: kaiming_normal(mode="fanout")
                                             ^^^^^^^^
          hint: did you mean 'fan_out'?
        """,
    ),
    Case(
        "init_number_expected",
        """
        network n:
          input: 3x8x8
          init:
            linear: normal(0, "small")
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:23: error: normal: std must be a number, got "small"
           4 |     linear: normal(0, "small")
                                     ^^^^^^^
        """,
    ),
    Case(
        "init_unknown_keyword",
        """
        network n:
          input: 3x8x8
          init:
            linear: normal(0, sd=0.1)
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:23: error: normal has no argument 'sd'
           4 |     linear: normal(0, sd=0.1)
                                     ^^^^^^
          hint: did you mean 'std'?
        """,
    ),
    Case(
        "init_too_many",
        """
        network n:
          input: 3x8x8
          init:
            linear: normal(0, 1, 2)
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:26: error: normal takes at most 2 positional arguments, got 3
           4 |     linear: normal(0, 1, 2)
                                        ^
          hint: normal(mean=0.0, std=1.0)
        """,
    ),
    Case(
        "init_constant_needs_val",
        """
        network n:
          input: 3x8x8
          init:
            linear: constant
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:13: error: constant needs 'val'
           4 |     linear: constant
                           ^^^^^^^^
          hint: constant(val)
        """,
    ),
    Case(
        "init_pattern_matches_nothing",
        """
        network n:
          input: 3x8x8
          init:
            "fc": zeros
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:5: error: init rule "fc": no layer with parameters has a matching name
           4 |     "fc": zeros
                   ^^^^
          hint: a pattern matches whole dotted names; '*' stands for any characters, dots included
        """,
    ),
    Case(
        "init_two_rules_for_one_op",
        """
        network n:
          input: 3x8x8
          init:
            conv: zeros
            conv: ones
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:5:5: error: a second init rule for conv (the first is on line 4)
           5 |     conv: ones
                   ^^^^
          hint: one rule per op; a quoted name pattern overrides it for some layers
        """,
    ),
    Case(
        "init_second_clause_unnamed",
        """
        network n:
          input: 3x8x8
          init:
            conv: zeros, ones
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:18: error: init rule for 'conv': only the first clause may leave out the parameter's name
           4 |     conv: zeros, ones
                                ^^^^
          hint: name the parameter this sets: `bias=ones`
        """,
    ),
    Case(
        "init_parameter_twice",
        """
        network n:
          input: 3x8x8
          init:
            conv: zeros, weight=ones
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:18: error: init rule for 'conv' sets 'weight' twice
           4 |     conv: zeros, weight=ones
                                ^^^^^^^^^^^
        """,
    ),
    Case(
        "init_formula_on_bias",
        """
        network n:
          input: 3x8x8
          init:
            conv: zeros, bias=constant(fan_in)
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:32: error: fan_in and fan_out are known only for the weight of conv, linear and patch_embed
           4 |     conv: zeros, bias=constant(fan_in)
                                              ^^^^^^
        """,
    ),
    Case(
        "init_formula_bad",
        """
        network n:
          input: 3x8x8
          init:
            conv: normal(std=fan_in > 2)
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:22: error: a formula with fan_in or fan_out may use only numbers, + - * / **, and sqrt
           4 |     conv: normal(std=fan_in > 2)
                                    ^^^^^^^^^^
        """,
    ),
    Case(
        "init_every_error",
        """
        network n:
          input: 3x8x8
          init:
            convv: zeros
            linear: normal(0, sd=0.1)
            "fc": zeros
          layers:
            conv(4, 3) >> batchnorm >> relu >> flatten >> linear(10)
        """,
        """
        t.arch:4:5: error: init rule for 'convv': there is no op of that name
           4 |     convv: zeros
                   ^^^^^
          hint: did you mean 'conv'?
        t.arch:5:23: error: normal has no argument 'sd'
           5 |     linear: normal(0, sd=0.1)
                                     ^^^^^^
          hint: did you mean 'std'?
        t.arch:6:5: error: init rule "fc": no layer with parameters has a matching name
           6 |     "fc": zeros
                   ^^^^
          hint: a pattern matches whole dotted names; '*' stands for any characters, dots included
        """,
    ),
    Case(
        "window_attention_on_a_vector",
        """
        network n:
          input: [16]
          layers:
            shifted_window_attention(2, 4)
        """,
        """
        t.arch:4:5: error: 0: shifted_window_attention expects a channels-last map HxWxC, got 16
           4 |     shifted_window_attention(2, 4)
                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
          hint: turn a CxHxW map channels-last with permute([1, 2, 0])
        """,
    ),
    Case(
        "window_attention_heads_do_not_divide_the_channels",
        """
        network n:
          input: 8x8x10
          layers:
            attn: shifted_window_attention(3, 4)
        """,
        """
        t.arch:4:36: error: attn: shifted_window_attention: 10 channels are not divisible by 3 heads
           4 |     attn: shifted_window_attention(3, 4)
                                                  ^
        """,
    ),
    Case(
        "window_attention_shift_not_smaller_than_the_window",
        """
        network n:
          input: 8x8x12
          layers:
            shifted_window_attention(3, 4, shift_size=4)
        """,
        """
        t.arch:4:36: error: 0: shifted_window_attention: shift_size 4 must be smaller than window_size 4
           4 |     shifted_window_attention(3, 4, shift_size=4)
                                                  ^^^^^^^^^^^^
          hint: Swin shifts by half a window: shift_size=window_size // 2
        """,
    ),
    Case(
        "patch_merging_on_tokens",
        """
        network n:
          input: 3x8x8
          layers:
            patch_embed(16, 4)
            patch_merging
        """,
        """
        t.arch:5:5: error: 1: patch_merging expects a channels-last map HxWxC, got 4x16
           5 |     patch_merging
                   ^^^^^^^^^^^^^
          hint: turn a CxHxW map channels-last with permute([1, 2, 0])
        """,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_error_message(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # paths in messages are relative to the working directory
    for name, text in case.files.items():
        (tmp_path / name).write_text(dedent(text), encoding="utf-8")
    error = error_of(dedent(case.spec), case.path, variant=case.variant, overrides=case.overrides)
    assert error.render() + "\n" == dedent(case.expected)


def test_case_ids_are_unique() -> None:
    assert len({case.id for case in CASES}) == len(CASES) >= 45


def test_tab_in_indentation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    error = error_of("network n:\n  input: 3x8x8\n  layers:\n\trelu\n")
    assert error.render() == (
        "t.arch:4:1: error: tabs are not allowed in indentation; indent with spaces\n   4 |  relu\n       ^"
    )


def test_tab_after_spaces_in_indentation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    error = error_of("network n:\n  input: 3x8x8\n  layers:\n    \trelu\n")
    assert error.render().splitlines()[0] == (
        "t.arch:4:5: error: tabs are not allowed in indentation; indent with spaces"
    )


def test_tab_inside_a_line_is_whitespace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    graph = lower(
        load_program(Path("t.arch"), text="network n:\n  input: 3x8x8\n  layers:\n    conv(4,\t3)\n")
    )
    assert graph.output_shape == (4, 6, 6)


def test_invalid_escape_in_a_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    error = error_of('network n:\n  input: 3x8x8\n  layers:\n    "a\\q": relu\n')
    assert error.render() == (
        "t.arch:4:5: error: invalid escape sequence in a string\n"
        '   4 |     "a\\q": relu\n'
        "           ^^^^^\n"
        "  hint: write a backslash as \\\\"
    )


def test_empty_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert error_of("").render() == "t.arch:1:1: error: empty spec: a file needs a `network name:` section"


def test_missing_root_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as raised:
        load_program(Path("nosuch.arch"))
    assert raised.value.render() == "archspec: error: no such spec file: nosuch.arch"


def test_lowering_stops_at_the_first_error_of_a_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    error = error_of("network n:\n  input: 3x8x8\n  layers:\n    relux\n    tanhx\n")
    assert len(error.diagnostics) == 1


@pytest.mark.parametrize(
    "text",
    [
        # Odd inputs that must still end in a SpecError, never in a traceback.
        "network n:\n  input: 3x8x8\n  layers:\n    x = 1e400\n",
        "network n:\n  input: 3x8x8\n  layers:\n    x = ceil(1e300 * 1e300)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    x = 1e300 ** 2\n",
        "network n:\n  input: 3x8x8\n  layers:\n    x = (-8) ** 0.5\n",
        "network n:\n  input: 3x8x8\n  layers:\n    x = int(1e300)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    x = range(0, 10, 0)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    x = range(10 ** 9)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    x = [0] * 1000000\n",
        "network n:\n  input: 3x8x8\n  layers:\n    x = abs()\n",
        'network n:\n  input: 3x8x8\n  layers:\n    x = make_divisible(10, 8, "a")\n',
        "network n:\n  input: 3x8x8\n  layers:\n    x = round(1.5, true)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    x = min([])\n",
        "network n:\n  input: 3x8x8\n  layers:\n    x = sum(3)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    relu * 300000\n",
        "network n:\n  input: 3x8x8\n  layers:\n    conv(4, [3])\n",
        "network n:\n  input: 3x8x8\n  layers:\n    conv(4, 3, table=5)\n",
        'network n:\n  input: 3x8x8\n  layers:\n    conv(4, 3, stride=[1, "a"])\n',
        "network n:\n  input: 3x8x8\n  layers:\n    softmax(dim=5)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    adaptive_avgpool(0)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    flatten >> select_token\n",
        "network n:\n  input: 3x8x8\n  layers:\n    flatten >> rbf(10) >> rbf(true)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    pad(-1)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    avgpool(3, pad=2)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    lrn(5) >> flatten >> lrn(5)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    flatten >> batchnorm >> layernorm(eps=0)\n",
        "network n:\n  input: 3x8x8\n  layers:\n    concat from input\n",
        "network n:\n  input: 3x8x8\n  layers:\n    add from input, input >> concat(dim=3) from input, input\n",
        "network n:\n  input: [3, 8.5]\n  layers:\n    relu\n",
        "network n:\n  input: []\n  layers:\n    relu\n",
        "network n:\n  input: [true]\n  layers:\n    relu\n",
        "network n:\n  reported: 3\n  input: 3x8x8\n  layers:\n    relu\n",
        "network n:\n  authors: [1, 2]\n  input: 3x8x8\n  layers:\n    relu\n",
        'network n:\n  input: 3x8x8\n  layers:\n    "": relu\n',
        'network n:\n  input: 3x8x8\n  layers:\n    "{}": relu\n',
        'network n:\n  input: 3x8x8\n  layers:\n    "{x": relu\n',
        "network n:\n  input: 3x8x8\n  layers:\n    'a\\x': relu\n",
        "network n:\n  input: 3x8x8\n  layers:\n    residual:\n      relu\n    shortcut: auto * 2\n",
        "network n:\n  input: 3x8x8\n  layers:\n    stem: relu\n    stem.x: relu\n",
        "network n:\n  input: 3x8x8\n  layers:\n    relu from input.x\n",
        "block B(x=y):\n  relu\nnetwork n:\n  input: 3x8x8\n  layers:\n    B()\n",
        "x = y\nnetwork n:\n  input: 3x8x8\n  layers:\n    relu\n",
        "network n:\n  input: 3x8x8\n  params:\n    a = b\n    b = 1\n  layers:\n    relu\n",
        "network n:\n  input: 3x8x8\n  layers:\n    for x in [1]: auto\n",
        "\x00",
        "network n:\n  input: 3x8x8\n  layers:\n    relu\n\x0c",
        "network \u00e9:\n",
    ],
)
def test_odd_inputs_fail_as_spec_errors(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    error = error_of(text)
    assert error.render().startswith("t.arch:") or error.render().startswith("archspec: error:")
    assert "__ANON" not in error.render() and "Traceback" not in error.render()
