"""The bounded Jinja2 sandbox: immutable values, and every operation spends the render's budget (limits.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

from jinja2 import Template, TemplateSyntaxError, nodes, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import LoopContext, Macro, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from sender.i18n import N_
from sender.services.messages import growth, limits

# Private filters the parser wraps around every loop, every `~` and every comparison; never written by hand.
_LOOP = "sender_steps"
_CONCAT = "sender_concat"
_COMPARED = "sender_compared"
# The environment attribute that compiled templates call for a buffer.
_BUFFER = "sender_buffer"
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


def _compared(value: Any) -> Any:
    """An operand of a comparison, refused first when comparing it would walk too much."""
    growth.predict_compare(value)
    return value


def _bounded_test(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A test that spends a step, and checks what it compares first (`is eq`, `is in`...)."""

    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        limits.tick()
        if name in growth.COMPARING_TESTS:
            for arg in (*args, *kwargs.values()):
                growth.predict_compare(arg)
        return func(*args, **kwargs)

    return bounded


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


# For the modules that add filters of their own to a BoundedSandbox (sandbox.py).
bounded_filter = _bounded_filter


class _Buffer(list[str]):
    """The output of a block, a macro or a {% set %} body, refused as soon as it is longer than the output limit."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def append(self, chunk: str) -> None:
        """Add one piece of output."""
        self.size += len(chunk)
        limits.fail_output(self.size)
        super().append(chunk)

    def extend(self, chunks: Iterable[str]) -> None:
        """Add pieces of output."""
        for chunk in chunks:
            self.append(chunk)


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles bodies whose output is kept (blocks, macros, {% set %}) into a _Buffer, one piece at a time."""

    def buffer(self, frame: Frame) -> None:
        """Start the frame's buffer as a _Buffer."""
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.{_BUFFER}()")

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        """Buffer each output expression on its own, so none is built before the ones before it are counted."""
        if frame.buffer is None or len(node.nodes) < 2:
            super().visit_Output(node, frame)
            return
        for child in node.nodes:
            super().visit_Output(nodes.Output([child], lineno=child.lineno), frame)


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

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        """Check the size of both sides of a comparison: nested lists are compared item by item, in C."""
        self.generic_visit(node)
        node.expr = nodes.Filter(node.expr, _COMPARED, [], [], None, None, lineno=node.lineno)
        for operand in node.ops:
            operand.expr = nodes.Filter(operand.expr, _COMPARED, [], [], None, None, lineno=node.lineno)
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
    code_generator_class = _BoundedCodeGenerator
    sender_buffer = _Buffer

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _bounded_filter(name, func) for name, func in self.filters.items()}
        self.filters[_LOOP] = _steps
        self.filters[_CONCAT] = _concat
        self.filters[_COMPARED] = _compared
        tests: dict[str, Callable[..., Any]] = cast(dict[str, Callable[..., Any]], self.tests)
        self.tests = {name: _bounded_test(name, func) for name, func in tests.items()}
        finalize = self.finalize

        def written(value: Any) -> Any:
            """Each {{ … }} value, refused before it is written out when its text would be too long."""
            if not isinstance(value, str):
                growth.predict_text(value)
            return finalize(value) if finalize else value

        self.finalize = written

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
            growth.predict_printf(left, right)
        elif operator == "+":
            left_len, right_len = limits.seq_len(left), limits.seq_len(right)
            if left_len is not None and right_len is not None:
                grow = limits.fail_value if isinstance(left, str | bytes) else limits.fail_items
                grow(left_len + right_len)
        return limits.checked(super().call_binop(context, operator, left, right))

    # Read-only views of ours whose fields are plain data, by type: their fields are read without the
    # sandbox's checks (there is nothing for them to refuse), which a message makes a dozen times.
    plain_fields: dict[type, frozenset[str]] = {}

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Attribute lookup, one step."""
        limits.tick()
        fields = self.plain_fields.get(type(obj))
        if fields is not None and attribute in fields:
            return getattr(obj, attribute)
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
            if value.__name__ == "format_map":
                growth.predict_format(fmt, (), args[0] if args and isinstance(args[0], Mapping) else {})
            else:
                growth.predict_format(fmt, args, kwargs)
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
                budget.fail(
                    N_("macro calls nested more than %(depth)s deep (limit)", depth=limits.DEPTH_LIMIT)
                )
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
                    budget.fail(
                        N_(
                            "renders to more than %(chars)s characters (limit)",
                            chars=f"{limits.OUTPUT_LIMIT:,}",
                        )
                    )
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
