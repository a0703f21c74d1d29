"""What the passes and backends ask of an op is a fact of its class (``Op.merge_symbol``,
``shortcut_merge``, ``aligns_branches``, ``cross_saving``, ``global_only_when_mixing``,
``contracts_inputs``, ``keeps_dtype``, ``rate_fields``, ``default_loss``, ``learned_tensor``,
``holds_integers``, ``batch_problem``), never a comparison of its kind with a string (or with a set of
names kept beside the classes) outside the op library. The oracles: the source text itself, torch's
parameters, the losses the trainer has."""

from __future__ import annotations

import re
from pathlib import Path

import archspec
from archspec.ops import OP_CLASSES, numel

ROOT = Path(__file__).resolve().parent.parent / "archspec"
# `op.kind == "add"`, `node.op.kind in ("a", "b")`, `op.kind != 'x'`, `op.kind in _PRODUCTS`: a pass
# deciding by an op's name.
KIND_TEST = re.compile(r"\bop\.kind\s*(==|!=|not\s+in|in)\s*[\"'(\[{A-Z_]")


def test_no_pass_or_backend_tests_an_op_kind_against_a_name() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted(ROOT.rglob("*.py"))
        if "ops" not in path.relative_to(ROOT).parts[:1]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if KIND_TEST.search(line)
    ]
    assert found == []


def test_the_merge_facts_belong_to_ops_of_several_inputs() -> None:
    for cls in OP_CLASSES:
        merges = cls.merge_symbol or cls.shortcut_merge or cls.aligns_branches
        if merges:
            assert cls.min_inputs >= 2, cls.__name__
        if merges or cls.cross_saving or cls.contracts_inputs:  # einsum takes one input or two
            assert cls.max_inputs is None or cls.max_inputs >= 2, cls.__name__


def test_every_op_asks_for_a_loss_the_trainer_has() -> None:
    from archspec.train.losses import LOSSES, loss_name

    assert {cls.default_loss for cls in OP_CLASSES} <= set(LOSSES)
    # LeNet-5 ends in its RBF units, trained with the paper's distance penalty; AlexNet with softmax.
    assert loss_name(archspec.load("lenet5").graph) == "rbf_map"
    assert loss_name(archspec.load("alexnet").graph) == "cross_entropy"


def test_a_learned_tensor_is_drawn_with_as_many_values_as_torch_holds() -> None:
    net = archspec.load("vit_b_16")
    parameters = dict(net.build(device="meta").named_parameters())
    drawn = {
        node.name: learned for node in net.graph.nodes if (learned := node.op.learned_tensor(node.shape))
    }
    assert sorted(drawn) == ["class_token", "encoder.pos_embedding"]
    for name, (_, shape) in drawn.items():
        assert numel(shape) == parameters[name].numel()


def test_the_drawing_words_an_op_only_through_its_label() -> None:
    """An op's drawing text is its ``label()`` (``conv 3×3/2, 64``): the drawing code names no op class
    of the library (it imports none from an op module), so a new op's text is written in its definition."""
    imports = re.compile(r"^\s*from archspec\.ops\.(?!base\b)\w+ import", re.MULTILINE)
    found = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "backends" / "diagram").rglob("*.py"))
        if imports.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
