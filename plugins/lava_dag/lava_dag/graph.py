"""A dag payload as a graph: parsing, prefixing and cycle finding (no lava objects involved)."""

from __future__ import annotations

from lava_dag.common import id_problem

# node -> its predecessors, every node named anywhere in the payload, in order of first mention
Graph = dict[str, list[str]]


def parse_graph(payload: object) -> tuple[Graph, list[str]]:
    """Read ``{job: predecessor | [predecessors] | null | []}``; returns the graph and the problems.

    Every id named as a key or in a value is a node. Predecessors keep their
    written order, without repeats.
    """
    if not isinstance(payload, dict):
        return {}, [f"$.payload: dag needs a map of job -> predecessor(s), got {payload!r}"]
    if not payload:
        return {}, ["$.payload: the dag is empty"]
    graph: Graph = {}
    problems: list[str] = []
    for job_id, value in payload.items():
        path = f"$.payload.{job_id}"
        problem = id_problem(job_id, f"$.payload (key {job_id!r})")
        if problem:
            problems.append(problem)
            continue
        if value is None:
            preds: list[object] = []
        elif isinstance(value, str):
            preds = [value]
        elif isinstance(value, list):
            preds = list(value)
        else:
            problems.append(f"{path}: expected a job id, a list of job ids or null, got {value!r}")
            continue
        bad = [p for p in (id_problem(pred, f"{path}[{i}]" if isinstance(value, list) else path)
                           for i, pred in enumerate(preds)) if p]
        if bad:
            problems += bad
            continue
        node = graph.setdefault(job_id, [])
        for pred in preds:
            assert isinstance(pred, str)
            if pred not in node:
                node.append(pred)
            graph.setdefault(pred, [])
    return graph, problems


def with_prefix(graph: Graph, prefix: str) -> Graph:
    """``job_prefix`` applied to every id, keys and values alike."""
    if not prefix:
        return graph
    return {prefix + node: [prefix + p for p in preds] for node, preds in graph.items()}


def find_cycle(graph: Graph) -> list[str] | None:
    """A cycle as ``[a, b, …, a]`` (each waits for the next), or None; self-dependency is ``[a, a]``.

    Depth-first, iterative (a dag may be a line thousands of jobs deep), visiting
    nodes and predecessors in payload order, so the cycle named is always the same.
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in graph:
        if root in state:
            continue
        path = [root]
        state[root] = 1
        stack = [iter(graph[root])]
        while stack:
            pred = next(stack[-1], None)
            if pred is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            mark = state.get(pred)
            if mark == 1:
                return [*path[path.index(pred):], pred]
            if mark is None:
                state[pred] = 1
                path.append(pred)
                stack.append(iter(graph[pred]))
    return None
