"""A maths module as a side-by-side page: each docstring typeset on the left, its code on the right.

Generated from the source as it is at build time (`ast` for the sections,
Pygments for the colours), so nothing here knows a line number.  A section
is a function, a class or a method, from its decorators (and the comment
just above them) to the next one; the module's docstring and imports come
first.  Every line of the file has an anchor, #L42; a docstring's lines are
anchored where the docstring would stand in the code.  Each section has the
id of its function ("kl_normal", "VAE.loss_and_grads"), which the equation
index links to.
"""
import ast
import html

from .equations import ENTRIES, slug
from .source import module_path
from .typeset import docstring_html, latex_to_mathml


def highlighted_lines(source):
    """The source as one HTML string per line, coloured with Pygments' short CSS classes."""
    from pygments.lexers import PythonLexer
    from pygments.token import STANDARD_TYPES
    lines, current = [], []
    for ttype, value in PythonLexer(stripnl=False, ensurenl=False).get_tokens(source):
        while ttype not in STANDARD_TYPES:
            ttype = ttype.parent
        css = STANDARD_TYPES[ttype]
        for i, part in enumerate(value.split("\n")):
            if i:
                lines.append("".join(current))
                current = []
            if part:
                text = html.escape(part)
                current.append(f'<span class="{css}">{text}</span>' if css else text)
    lines.append("".join(current))
    return lines[:len(source.splitlines())]


class Section:
    def __init__(self, name, start, node=None):
        self.name, self.start, self.node = name, start, node
        self.end = start


def _docstring_lines(node):
    """(first, last) line of a node's docstring, or None."""
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[0].lineno, body[0].end_lineno
    return None


def sections(tree, lines):
    """The page's sections in source order: the module's head, then each class, function, method."""
    found = [Section("module", 1, tree)]

    def add(node, prefix=""):
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        while start > 1 and lines[start - 2].lstrip().startswith("#"):     # its comment above
            start -= 1
        found.append(Section(prefix + node.name, start, node))
        if isinstance(node, ast.ClassDef):
            for child in node.body:
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    add(child, f"{node.name}.")
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            add(node)
    found.sort(key=lambda s: s.start)
    for s, after in zip(found, found[1:] + [None]):
        s.end = (after.start - 1) if after else len(lines)
    return found


def entries_by_function(module):
    """{function: [index entries whose code names it]} for one module."""
    found = {}
    for e in ENTRIES:
        for c in e.code:
            if c.module == module and e not in found.setdefault(c.function, []):
                found[c.function].append(e)
    return found


def _code_column(section, coloured):
    doc = _docstring_lines(section.node) if section.node is not None else None
    rows = []
    n = section.start
    while n <= section.end:
        if doc and n == doc[0]:
            anchors = "".join(f'<span id="L{k}"></span>' for k in range(doc[0] + 1, doc[1] + 1))
            rows.append(f'<span class="line docref" id="L{n}"><a class="ln" href="#L{n}">{n}</a>'
                        f'<span class="c1">    # docstring, lines {doc[0]}–{doc[1]}: on the left</span>'
                        f'{anchors}</span>')
            n = doc[1] + 1
            continue
        rows.append(f'<span class="line" id="L{n}"><a class="ln" href="#L{n}">{n}</a>'
                    f'{coloured[n - 1]}</span>')
        n += 1
    return '<div class="highlight"><pre>' + "".join(rows) + "</pre></div>"      # each row a block


def _equations(section, index):
    """The paper's equations and figures this function computes, typeset across the section."""
    boxes = []
    for e in index.get(section.name, ()):
        maths = latex_to_mathml(e.latex, display=True) if e.latex else html.escape(e.text)
        boxes.append(f'<div class="eq"><a class="eqlabel" href="../equations.html#{slug(e.label)}">'
                     f'{e.label} ({html.escape(e.section)})</a>{maths}</div>')
    return f'<div class="eqs">{"".join(boxes)}</div>' if boxes else ""


def _notes_column(section):
    parts = []
    if section.name != "module":
        kind = "class" if isinstance(section.node, ast.ClassDef) else "def"
        parts.append(f'<h3 class="fn"><a href="#{section.name}">{kind} {section.name}</a></h3>')
    parts.append(docstring_html(ast.get_docstring(section.node) if section.node else None))
    return "\n".join(parts)


def page_html(module, root=None):
    """The side-by-side body of one maths module's page (an HTML fragment)."""
    source = module_path(module, root).read_text(encoding="utf-8")
    lines = source.splitlines()
    coloured = highlighted_lines(source)
    index = entries_by_function(module)
    rows = [f'<section class="sbs-row" id="{s.name}" data-function="{s.name}">'
            f'{_equations(s, index)}<div class="notes">{_notes_column(s)}</div>'
            f'<div class="code">{_code_column(s, coloured)}</div></section>'
            for s in sections(ast.parse(source), lines)]
    return '<div class="sbs">\n' + "\n".join(rows) + "\n</div>"


def page_title(module, root=None):
    """"losses.py — <the module docstring's first line>"."""
    source = module_path(module, root).read_text(encoding="utf-8")
    first = (ast.get_docstring(ast.parse(source)) or "").strip().splitlines()[0].rstrip(".")
    return f"{module}.py — {first}"
