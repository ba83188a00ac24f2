#!/usr/bin/env python3
"""Import cycles between the top-level modules of a Rust crate (stdlib only).

A module is a file src/X.rs or a folder src/X/ (lib.rs and main.rs are the crate root, not
modules). Module A depends on module B when a file of A names `crate::B` (a path, a `use`, or a
`use crate::{B, C::...}` group, over several lines too) or reaches B through `super::` from the
crate root's level. Comments, string and char literals do not count, nor does code that only
tests compile: an item after `#[cfg(test)]` (a `mod tests { ... }` block, found by brace
counting) or a file declared as `#[cfg(test)] mod NAME;`.

Prints every strongly connected component of more than one module (Tarjan) with its cycles and,
for each edge in it, the file:line places that make it; exits 1 if there is any, else 0.

usage: module_cycles.py [--graph] [SRC_DIR]   (SRC_DIR defaults to the repo's src/)
  --graph   also print every module's dependencies, with a count of the places naming each
"""

import os
import re
import sys
from collections import defaultdict

MAX_EXAMPLES = 3  # places shown per edge
MAX_CYCLES = 40  # elementary cycles shown per component

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CHAR_LITERAL = re.compile(r"'(?:\\(?:u\{[0-9A-Fa-f]*\}|x[0-9A-Fa-f]{2}|.)|[^\\'\n])'")
RAW_STRING = re.compile(r'b?r(#*)"')


# ---------------------------------------------------------------------------------------------
# Lexing: blank out comments and literals, keeping every newline so line numbers stay right.


def strip_code(text):
    """The source with comments, strings and char literals replaced by spaces."""
    out = []
    i, n = 0, len(text)

    def blank(s):
        out.append("".join("\n" if c == "\n" else " " for c in s))

    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(text[i:j])
            i = j
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2  # Rust block comments nest
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(text[i:j])
            i = j
        elif c in "rb" and _raw_string_at(text, i) is not None:
            j = _raw_string_at(text, i)
            blank(text[i:j])
            i = j
        elif c == '"' or (c == "b" and nxt == '"'):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            blank(text[i : j + 1])
            i = j + 1
        elif c == "'":
            m = CHAR_LITERAL.match(text, i)
            if m:  # a char literal; otherwise a lifetime or a label, which is code
                blank(m.group(0))
                i = m.end()
            else:
                out.append(c)
                i += 1
        elif IDENT.match(text, i) and (i == 0 or not _ident_char(text[i - 1])):
            m = IDENT.match(text, i)  # whole identifiers, so `br` or `r` inside one is no prefix
            out.append(m.group(0))
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _ident_char(c):
    return c.isalnum() or c == "_"


def _raw_string_at(text, i):
    """End of a raw string (r"..", r#".."#, br"..") starting at i, or None."""
    m = RAW_STRING.match(text, i)
    if not m or (i > 0 and _ident_char(text[i - 1])):
        return None
    end = text.find('"' + m.group(1), m.end())
    return len(text) if end < 0 else end + 1 + len(m.group(1))


# ---------------------------------------------------------------------------------------------
# Test-only code: the item after `#[cfg(test)]`, and files declared by `#[cfg(test)] mod x;`.

CFG_TEST = re.compile(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]")
ATTR = re.compile(r"\s*#\s*\[")
MOD_DECL = re.compile(r"\s*(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;")


def blank_test_items(code):
    """(code with each #[cfg(test)] item blanked, names of `#[cfg(test)] mod NAME;` files)."""
    test_files = []
    chars = list(code)
    pos = 0
    while True:
        m = CFG_TEST.search(code, pos)
        if not m:
            break
        start, j = m.start(), m.end()
        while True:  # further attributes on the same item
            a = ATTR.match(code, j)
            if not a:
                break
            j = _skip_balanced(code, a.end() - 1, "[", "]")
        decl = MOD_DECL.match(code, j)
        if decl:
            test_files.append(decl.group(1))
        end = _item_end(code, j)
        for k in range(start, end):
            if chars[k] != "\n":
                chars[k] = " "
        pos = end
    return "".join(chars), test_files


def _skip_balanced(code, i, open_c, close_c):
    """Index after the bracket that closes the one at i."""
    depth = 0
    for k in range(i, len(code)):
        if code[k] == open_c:
            depth += 1
        elif code[k] == close_c:
            depth -= 1
            if depth == 0:
                return k + 1
    return len(code)


def _item_end(code, i):
    """Index after the item starting at i: its `;` at depth 0, or the `}` that closes its body."""
    depth = 0
    for k in range(i, len(code)):
        c = code[k]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0 and c == "}":
                return k + 1
        elif c == ";" and depth == 0:
            return k + 1
    return len(code)


# ---------------------------------------------------------------------------------------------
# References to other top-level modules.

CRATE_PATH = re.compile(r"(?<![A-Za-z0-9_])\$?crate\s*::\s*([A-Za-z_][A-Za-z0-9_]*)")
CRATE_GROUP = re.compile(r"(?<![A-Za-z0-9_])\$?crate\s*::\s*\{")
SUPER_PATH = re.compile(r"(?<![A-Za-z0-9_:])((?:super\s*::\s*)+)([A-Za-z_][A-Za-z0-9_]*)")
INLINE_MOD = re.compile(r"(?<![A-Za-z0-9_])mod\s+[A-Za-z_][A-Za-z0-9_]*\s*\{")


def line_of(code, index):
    return code.count("\n", 0, index) + 1


def references(code, depth):
    """(target name, offset) for every top-level name the code reaches: `crate::X`, the first
    segment of each item of a `crate::{...}` group, and `super::...::X` climbing to the root.
    `depth` is how deep the file's own module sits (src/X.rs: 1, src/X/Y.rs: 2)."""
    refs = [(m.group(1), m.start()) for m in CRATE_PATH.finditer(code)]
    for m in CRATE_GROUP.finditer(code):
        end = _skip_balanced(code, m.end() - 1, "{", "}")
        for name, off in _group_heads(code, m.end(), end - 1):
            refs.append((name, off))
    inline_opens = [_skip_balanced(code, m.end() - 1, "{", "}") for m in INLINE_MOD.finditer(code)]
    inline_starts = [m.start() for m in INLINE_MOD.finditer(code)]
    for m in SUPER_PATH.finditer(code):
        nesting = sum(1 for s, e in zip(inline_starts, inline_opens) if s < m.start() < e)
        ups = m.group(1).count("super")
        if ups == depth + nesting:
            refs.append((m.group(2), m.start()))
    return refs


def _group_heads(code, start, end):
    """First segment of each top-level item of a use group between start and end."""
    heads, depth, expect = [], 0, True
    i = start
    while i < end:
        c = code[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            expect = True
        elif depth == 0 and expect and (c.isalpha() or c == "_"):
            m = IDENT.match(code, i)
            heads.append((m.group(0), i))
            expect = False
            i = m.end()
            continue
        i += 1
    return heads


# ---------------------------------------------------------------------------------------------
# Modules, files, graph.


def modules_of(src):
    mods = {}
    for entry in sorted(os.listdir(src)):
        path = os.path.join(src, entry)
        if os.path.isdir(path):
            mods.setdefault(entry, [])
        elif entry.endswith(".rs") and entry not in ("lib.rs", "main.rs"):
            mods.setdefault(entry[:-3], [])
    for name in mods:
        single = os.path.join(src, name + ".rs")
        if os.path.isfile(single):
            mods[name].append(single)
        folder = os.path.join(src, name)
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            mods[name].extend(os.path.join(root, f) for f in sorted(files) if f.endswith(".rs"))
    return mods


def module_depth(src, path):
    """How deep the module a file defines sits below the crate root."""
    parts = os.path.relpath(path, src).split(os.sep)
    if parts[-1] == "mod.rs":
        parts = parts[:-1]
    return len(parts)


def test_only_files(path, names):
    """The files `#[cfg(test)] mod NAME;` in `path` declares."""
    base = os.path.dirname(path)
    stem = os.path.basename(path)[:-3]
    if stem not in ("mod", "lib", "main"):
        base = os.path.join(base, stem)
    found = []
    for name in names:
        for cand in (os.path.join(base, name + ".rs"), os.path.join(base, name, "mod.rs")):
            found.append(os.path.normpath(cand))
    return found


def build_graph(src):
    """({module: [modules it names]}, {(from, to): ["file:line", ...]})."""
    mods = modules_of(src)
    root = os.path.dirname(os.path.abspath(src))
    parsed = {}  # path -> code without comments, literals and test-only items
    test_only = set()
    for files in mods.values():
        for path in files:
            with open(path, encoding="utf-8") as f:
                code, test_mods = blank_test_items(strip_code(f.read()))
            parsed[path] = code
            test_only.update(test_only_files(path, test_mods))
    edges = defaultdict(list)
    for mod, files in mods.items():
        for path in files:
            if os.path.normpath(path) in test_only:
                continue
            code = parsed[path]
            rel = os.path.relpath(path, root)
            for target, offset in references(code, module_depth(src, path)):
                if target in mods and target != mod:
                    edges[(mod, target)].append(f"{rel}:{line_of(code, offset)}")
    graph = {m: sorted({b for (a, b) in edges if a == m}) for m in mods}
    return graph, edges


def tarjan(graph):
    index, low, on_stack, stack, sccs = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.append(w)
                if w == v:
                    break
            sccs.append(sorted(scc))

    sys.setrecursionlimit(max(1000, 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sccs


def elementary_cycles(graph, members, limit):
    """Simple cycles inside one component, each started at its smallest module, shortest first."""
    members = sorted(members)
    inside = set(members)
    cycles = []
    for s in members:
        allowed = {m for m in inside if m >= s}
        path = [s]

        def walk(v):
            for w in graph[v]:
                if w not in allowed or len(cycles) > limit:
                    continue
                if w == s:
                    cycles.append(list(path))
                elif w not in path:
                    path.append(w)
                    walk(w)
                    path.pop()

        walk(s)
    cycles.sort(key=lambda c: (len(c), c))
    return cycles


def main(argv):
    show_graph = "--graph" in argv
    rest = [a for a in argv if a != "--graph"]
    if any(a.startswith("-") for a in rest) or len(rest) > 1:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    src = rest[0] if rest else os.path.join(here, "..", "..", "src")
    if not os.path.isdir(src):
        print(f"module_cycles: no folder {src}", file=sys.stderr)
        return 2
    graph, edges = build_graph(src)

    if show_graph:
        print("module graph (module -> what it names, with the number of places):")
        for m in sorted(graph):
            deps = ", ".join(f"{d} ({len(edges[(m, d)])})" for d in graph[m]) or "-"
            print(f"  {m} -> {deps}")
        print()

    cyclic = [c for c in tarjan(graph) if len(c) > 1]
    if not cyclic:
        print(f"module cycles: none among {len(graph)} top-level modules")
        return 0
    print(f"module cycles: {len(cyclic)} group(s) of modules that reach each other")
    for scc in cyclic:
        print(f"\n[{', '.join(scc)}]")
        cycles = elementary_cycles(graph, scc, MAX_CYCLES)
        for c in cycles[:MAX_CYCLES]:
            print("  cycle: " + " -> ".join(c + [c[0]]))
        if len(cycles) > MAX_CYCLES:
            print(f"  ... and more cycles (first {MAX_CYCLES} shown)")
        print("  edges:")
        for a in scc:
            for b in graph[a]:
                if b in scc:
                    places = edges[(a, b)]
                    more = f" (+{len(places) - MAX_EXAMPLES} more)" if len(places) > MAX_EXAMPLES else ""
                    print(f"    {a} -> {b}: {', '.join(places[:MAX_EXAMPLES])}{more}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
