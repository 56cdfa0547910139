"""The bounded Jinja2 sandbox: immutable values, and every operation spends the render's budget (limits.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import LoopContext, Macro, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from sender.services.messages import growth, limits

# Private filters the parser wraps around every loop and every `~`; never written by hand.
_LOOP = "sender_steps"
_CONCAT = "sender_concat"
# What a template might try on contact data, which is read-only (it would only fail obscurely otherwise).
_MUTATING = frozenset(
    {"update", "pop", "popitem", "setdefault", "clear", "append", "extend", "insert", "remove"}
)


def _steps(values: Any) -> Iterator[Any]:
    """Iterate a loop's sequence, one step per iteration."""
    for value in values:
        limits.tick()
        yield value


@pass_eval_context
def _concat(eval_ctx: EvalContext, parts: list[Any]) -> str:
    """The `~` operator, refused before joining when the result would be too long."""
    limits.tick()
    growth.predict_join(parts)
    return markup_join(parts) if eval_ctx.autoescape else str_join(parts)


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that spends a step, checks predictable growth first and the size of its result after."""
    offset = 1 if hasattr(func, "jinja_pass_arg") else 0

    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        limits.tick()
        if len(args) > offset:
            value = args[offset]
            counted = growth.before_filter(name, value, list(args[offset + 1 :]), kwargs)
            if counted is not value:
                args = (*args[:offset], counted, *args[offset + 1 :])
        return limits.checked(func(*args, **kwargs))

    return bounded


# Statements with a body: each one nests what it contains one level deeper.
_BLOCKS = (
    nodes.For,
    nodes.If,
    nodes.Macro,
    nodes.CallBlock,
    nodes.FilterBlock,
    nodes.With,
    nodes.AssignBlock,
    nodes.Scope,
    nodes.ScopedEvalContextModifier,
    nodes.Block,
)


def _check_nesting(tree: nodes.Template, name: str | None) -> None:
    """Refuse statements or expressions nested beyond the limits (walked without recursion)."""
    stack: list[tuple[nodes.Node, int, int]] = [(tree, 0, 0)]
    while stack:
        node, blocks, exprs = stack.pop()
        blocks += isinstance(node, _BLOCKS)
        exprs += isinstance(node, nodes.Expr)
        if blocks > limits.BLOCK_NESTING_LIMIT:
            message = f"blocks ({{% for %}}, {{% if %}}…) nested more than {limits.BLOCK_NESTING_LIMIT} deep (limit)"
            raise TemplateSyntaxError(message, node.lineno, name)
        if exprs > limits.EXPRESSION_NESTING_LIMIT:
            message = f"expression nested more than {limits.EXPRESSION_NESTING_LIMIT} deep (limit)"
            raise TemplateSyntaxError(message, node.lineno, name)
        # An {% elif %} is a branch of its {% if %}, not a level inside it.
        branches = node.elif_ if isinstance(node, nodes.If) else []
        for child in node.iter_child_nodes():
            stack.append((child, blocks - any(child is b for b in branches), exprs))


class _Instrument(NodeTransformer):
    """Routes every loop and every `~` of a parsed template through the budgeted filters."""

    def __init__(self, name: str | None) -> None:
        self.name = name

    def visit_For(self, node: nodes.For) -> nodes.Node:
        """Count iterations; refuse recursive loops, whose inner iterations would escape the count."""
        if node.recursive:
            raise TemplateSyntaxError("recursive loops are not available", node.lineno, self.name)
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _LOOP, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        """Check the length of a `~` before building it."""
        self.generic_visit(node)
        return nodes.Filter(
            nodes.List(node.nodes, lineno=node.lineno), _CONCAT, [], [], None, None, lineno=node.lineno
        )


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox where every operation spends the render's budget and sizes are capped.

    Render its templates only through render_bounded(), which opens the budget; outside one, nothing runs.
    """

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _bounded_filter(name, func) for name, func in self.filters.items()}
        self.filters[_LOOP] = _steps
        self.filters[_CONCAT] = _concat

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        try:
            tree = super()._parse(source, name, filename)
            _check_nesting(tree, name)
            tree = _Instrument(name).visit(tree)
        except RecursionError:
            raise TemplateSyntaxError("the template is nested too deeply to read (limit)", 1, name) from None
        tree.set_environment(self)
        return tree

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """Check the size of `*`, `**`, `%` and `+` before computing them."""
        limits.tick()
        if operator == "*":
            growth.predict_repeat(left, right)
        elif operator == "**":
            growth.predict_power(left, right)
        elif operator == "%" and isinstance(left, str):
            growth.printf_widths(left, right)
        elif operator == "+":
            left_len, right_len = limits.seq_len(left), limits.seq_len(right)
            if left_len is not None and right_len is not None:
                grow = limits.fail_value if isinstance(left, str | bytes) else limits.fail_items
                grow(left_len + right_len)
        return limits.checked(super().call_binop(context, operator, left, right))

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Attribute lookup, one step."""
        limits.tick()
        if attribute in _MUTATING and isinstance(obj, Mapping | tuple):
            return self.undefined(f"contact data is read-only ({attribute!r})", obj=obj, exc=SecurityError)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        """Item lookup, one step."""
        limits.tick()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """str.format / format_map, refused before formatting when a width is huge."""
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        fmt: str = value.__self__

        def bounded(*args: Any, **kwargs: Any) -> str:
            mapping = args[0] if value.__name__ == "format_map" and args else kwargs
            growth.format_widths(fmt, (*args, *getattr(mapping, "values", list)()))
            result: str = limits.checked(wrapper(*args, **kwargs))
            return result

        return bounded

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A call from a template: one step, nesting depth for macros, growth checks for str methods."""
        budget = limits.tick()
        name = getattr(__obj, "__name__", "")
        if isinstance(getattr(__obj, "__self__", None), str) and name in growth.GROWING_METHODS:
            args = growth.before_str_method(name, __obj.__self__, args)
        elif name == "fromkeys" and args:  # {}.fromkeys(…) builds one entry per item
            args = (limits.bounded_list(args[0]), *args[1:])
        if not isinstance(__obj, Macro | LoopContext):
            return limits.checked(super().call(__context, __obj, *args, **kwargs))
        budget.depth += 1
        try:
            if budget.depth > limits.DEPTH_LIMIT:
                budget.fail(f"macro calls nested more than {limits.DEPTH_LIMIT} deep (limit)")
            return limits.checked(super().call(__context, __obj, *args, **kwargs))
        finally:
            budget.depth -= 1


def render_bounded(template: Template, context: dict[str, Any]) -> str:
    """Render a template of a BoundedSandbox within a fresh budget, stopping as soon as the output is too long."""
    budget, token = limits.start()
    try:
        chunks: list[str] = []
        size = 0
        try:
            for chunk in template.root_render_func(template.new_context(context)):
                size += len(chunk)
                if size > limits.OUTPUT_LIMIT:
                    budget.fail(f"renders to more than {limits.OUTPUT_LIMIT:,} characters (limit)")
                chunks.append(chunk)
            budget.check_clocks()
            if budget.exceeded:  # spent inside a construct that swallowed the error
                raise limits.RenderLimitExceeded(budget.exceeded)
        except Exception:
            # Rewrites the traceback to point at template lines, as Template.render() does.
            template.environment.handle_exception()
        return "".join(chunks)
    finally:
        limits.finish(token)
