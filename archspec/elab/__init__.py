"""Elaboration: from the AST of a network to its IR (``archspec.lower`` runs it).

- ``walk``: the one walk over statements, shared by lowering and ``archspec check``;
- ``names``: layer names, labels and references to earlier layers;
- ``binding``: which parameter each argument of a call gives (one binder for lowering and ``check``);
- ``graph``: the nodes and scopes being built, and op creation;
- ``blocks``: block instances (arguments, the call stack, the call's text);
- ``formulas``: op arguments computed from the network's parameters;
- ``traced`` and ``origins``: a traced elaboration's numbers and where they come from, and the graph
  for other parameter values computed from them (``substitute``), for ``archspec compile``;
- ``variants``: the network, its variants, parameters and input shape; ``metadata``: its metadata;
- ``items`` and ``statements``: the lowering of a layer body, item by item and statement by statement.
"""
