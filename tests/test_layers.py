"""The package's layout is kept, not only reached: layers import downwards, modules form no cycle,
and the public API is what the docs say it is."""

from __future__ import annotations

import ast
from fnmatch import fnmatch
from pathlib import Path

import briefer

PACKAGE = Path(briefer.__file__).parent

# Top to bottom, in data-flow order. A module may import modules of its own layer or of a
# lower one, never of a higher one. Imports inside functions and under TYPE_CHECKING count.
LAYERS: list[tuple[str, list[str]]] = [
    ("the public API", ["briefer", "briefer.__main__"]),
    ("the command line", ["briefer.cli"]),
    ("batch runs", ["briefer.batch", "briefer.batch.*"]),
    ("the dry run", ["briefer.plan"]),
    ("the pipeline", ["briefer.pipeline"]),
    ("settings and engine choice", ["briefer.config"]),
    ("engines", ["briefer.engines", "briefer.engines.*"]),
    ("the LLM helpers", ["briefer.llm", "briefer.llm.*"]),
    (
        "the steps every engine shares",
        [
            "briefer.verify",
            "briefer.paraphrase",
            "briefer.merge",
            "briefer.differences",
            "briefer.salience",
            "briefer.people",
            "briefer.chunking",
            "briefer.render",
        ],
    ),
    (
        "the data they pass",
        [
            "briefer.brief",
            "briefer.findings",
            "briefer.sentences",
            "briefer.nlp_cache",
            "briefer.templates",
            "briefer.template_files",
            "briefer.settings",
            "briefer.numbers",
            "briefer.tokens",
            "briefer.cache",
            "briefer.output",
            "briefer.safe_text",
        ],
    ),
    ("reading sources", ["briefer.sources", "briefer.formats", "briefer.formats.*"]),
    ("errors and version", ["briefer.errors", "briefer._version", "briefer.redact", "briefer.waiting"]),
]

DOCUMENTED_API = {
    "Brief",
    "BriefError",
    "Citation",
    "ConfigError",
    "Item",
    "ModelError",
    "RefusalError",
    "RunError",
    "Section",
    "Settings",
    "Source",
    "SourceError",
    "Template",
    "TemplateError",
    "UsageError",
    "__version__",
    "brief_model",
    "builtin_templates",
    "get_engine",
    "load_sources",
    "load_template",
    "make_brief",
    "render_html",
    "render_json",
    "render_markdown",
    "render_terminal",
    "resolve_settings",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports, anywhere in its code."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                submodules = {f"{node.module}.{alias.name}" for alias in node.names} & modules.keys()
                if node.module in modules and len(submodules) < len(node.names):
                    imported.add(node.module)  # a name from the module itself, not only its submodules
                imported |= submodules
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names if alias.name in modules}
        graph[name] = imported - {name}
    return graph


def layer_of(module: str) -> int:
    for index, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch(module, pattern) for pattern in patterns):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of `graph` (strongly connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_is_in_a_layer() -> None:
    for module in import_graph():
        layer_of(module)


def test_no_module_imports_a_module_above_it() -> None:
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in sorted(import_graph().items())
        for target in sorted(targets)
        if layer_of(target) < layer_of(module)
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_checks_catch_what_they_are_for() -> None:
    """The layer and cycle checks fail on a graph that breaks them (so passing means something)."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer_of("briefer.llm.ask") > layer_of("briefer.engines.openai_engine")
    assert layer_of("briefer.verify") > layer_of("briefer.llm.ground")


def test_each_engine_is_registered_under_its_class_name() -> None:
    from briefer.engines import ENGINES

    assert {name: ENGINES[name].name for name in ENGINES} == {name: name for name in ENGINES}


def test_public_api_is_the_documented_one() -> None:
    assert set(briefer.__all__) == DOCUMENTED_API
    for name in briefer.__all__:
        assert hasattr(briefer, name), name
    for name in briefer.__all__:
        value = getattr(briefer, name)
        if callable(value):
            assert value.__doc__, f"briefer.{name} has no docstring"
