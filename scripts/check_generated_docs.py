#!/usr/bin/env python3
"""Keeps the numbers the docs quote from the code equal to what the code computes.

The docs hold such numbers between markers, and `flashlab-sim-report docs` prints each one under
its name ("@@ name" then the text):
  <!-- generated: NAME -->            a block (a table, a code block): the lines up to
  ...                                 the closing marker are the item's text
  <!-- end generated: NAME -->
  <!-- gen: NAME -->TEXT<!-- /gen -->   an inline number or phrase: TEXT is the item's text

usage: check_generated_docs.py --tool FLASHLAB_SIM_REPORT [--flashlab FLASHLAB] [--update] ROOT
       check_generated_docs.py --self-test
With --flashlab, one more item, flashlab-info-presets: the GPU presets that `flashlab info`
prints (the performance model's rates and where they come from), as a console block.
Without --update, lists every marker whose text differs from the tool's (exit 1); with --update,
rewrites them (after changing the code, e.g. the default SRAM: `cmake --build <dir> --target
update-docs`). Scans ROOT/README.md, ROOT/docs/*.md and ROOT/labs/*/README.md.
Exit status: 0 up to date (or updated), 1 out of date or malformed markers, 2 bad usage.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

BLOCK_OPEN = re.compile(r"^<!-- generated: ([\w.-]+) -->$")
BLOCK_CLOSE = "<!-- end generated: {} -->"
INLINE = re.compile(r"<!-- gen: ([\w.-]+) -->(.*?)<!-- /gen -->")


def tool_items(tool):
    """The items `tool docs` prints, as {name: text}."""
    out = subprocess.run([tool, "docs"], check=True, capture_output=True, text=True).stdout
    items, name = {}, None
    for line in out.split("\n"):
        if line.startswith("@@ "):
            name = line[3:].strip()
            items[name] = []
        elif name is not None:
            items[name].append(line)
    return {k: "\n".join(v).rstrip("\n") for k, v in items.items()}


def info_presets_item(flashlab):
    """`flashlab info` from its "GPU presets" line on (what does not depend on the build or the
    machine), as a console block."""
    env = dict(os.environ, NO_COLOR="1")
    out = subprocess.run([flashlab, "info"], check=True, capture_output=True, text=True,
                         env=env).stdout
    lines = out.rstrip("\n").split("\n")
    start = next((k for k, l in enumerate(lines) if l.startswith("GPU presets")), None)
    if start is None:
        raise SystemExit(f"{flashlab} info printed no 'GPU presets' line")
    return "\n".join(["```console"] + lines[start:] + ["```"])


def check_text(path, text, items):
    """(problems, text with every marker's content replaced by the item's)."""
    problems, out, lines, k = [], [], text.split("\n"), 0
    while k < len(lines):
        line = lines[k]
        for m in INLINE.finditer(line):
            name, got = m.group(1), m.group(2)
            if name not in items:
                problems.append(f"{path}:{k + 1}: unknown item '{name}'")
            elif "\n" in items[name]:
                problems.append(f"{path}:{k + 1}: item '{name}' has several lines; use a block")
            elif got != items[name]:
                problems.append(f"{path}:{k + 1}: '{name}' is '{got}', the code gives "
                                f"'{items[name]}'")
        out.append(INLINE.sub(lambda m: m.group(0) if m.group(1) not in items or
                              "\n" in items[m.group(1)] else
                              f"<!-- gen: {m.group(1)} -->{items[m.group(1)]}<!-- /gen -->",
                              line))
        opened = BLOCK_OPEN.match(line)
        k += 1
        if not opened:
            continue
        name = opened.group(1)
        close = BLOCK_CLOSE.format(name)
        end = next((j for j in range(k, len(lines)) if lines[j] == close), None)
        if end is None:
            problems.append(f"{path}:{k}: block '{name}' has no '{close}'")
            continue
        body = "\n".join(lines[k:end])
        if name not in items:
            problems.append(f"{path}:{k}: unknown item '{name}'")
            out += lines[k:end]
        else:
            if body != items[name]:
                first = next((j for j, (a, b) in enumerate(zip(body.split("\n"),
                              items[name].split("\n"))) if a != b),
                             min(body.count("\n"), items[name].count("\n")) + 1)
                problems.append(f"{path}:{k + 1 + first}: block '{name}' differs from the code "
                                f"from its line {first + 1} on")
            out += items[name].split("\n")
        out.append(close)
        k = end + 1
    return problems, "\n".join(out)


def doc_files(root):
    paths = [os.path.join(root, "README.md")]
    paths += sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    paths += sorted(glob.glob(os.path.join(root, "labs", "*", "README.md")))
    return [p for p in paths if os.path.isfile(p)]


def run(root, items, update):
    problems, used = [], set()
    for path in doc_files(root):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        used |= set(INLINE_NAME.findall(text))
        found, fixed = check_text(os.path.relpath(path, root), text, items)
        if update and fixed != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(fixed)
            print(f"updated {os.path.relpath(path, root)}")
        problems += [p for p in found if not update or "unknown" in p or "no '" in p]
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} generated numbers out of date or malformed; after a change to the "
              "code, run: cmake --build <build dir> --target update-docs")
        return 1
    unused = sorted(set(items) - used)
    if unused:
        print("items no doc shows (fine, listed for reference): " + ", ".join(unused))
    print("generated numbers: up to date" if not update else "generated numbers: updated")
    return 0


INLINE_NAME = re.compile(r"<!-- (?:gen|generated): ([\w.-]+) -->")


def self_test():
    """The checker on a small tree: passes when equal, fails on a changed number, an unknown
    name and an unclosed block, and --update repairs what it can."""
    failures = []
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "docs"))
        doc = os.path.join(root, "docs", "a.md")
        items = {"bytes": "2,805,760", "table": "| a | b |\n|---|---|\n| 1 | 2 |"}
        good = ("Flash moves <!-- gen: bytes -->2,805,760<!-- /gen --> bytes.\n\n"
                "<!-- generated: table -->\n| a | b |\n|---|---|\n| 1 | 2 |\n"
                "<!-- end generated: table -->\n")

        def outcome(text, update=False):
            with open(doc, "w", encoding="utf-8") as f:
                f.write(text)
            return run(root, items, update)

        def expect(label, got, want):
            if got != want:
                failures.append(f"self-test: {label}: exit {got}, expected {want}")

        expect("equal", outcome(good), 0)
        expect("changed inline number", outcome(good.replace("2,805,760<", "2,805,761<")), 1)
        expect("changed table cell", outcome(good.replace("| 1 | 2 |", "| 1 | 3 |")), 1)
        expect("table row missing", outcome(good.replace("| 1 | 2 |\n", "")), 1)
        expect("unknown name", outcome(good.replace("gen: bytes", "gen: bites")), 1)
        expect("unclosed block", outcome(good.replace("<!-- end generated: table -->", "")), 1)
        expect("update", outcome(good.replace("| 1 | 2 |", "| 9 | 9 |"), update=True), 0)
        with open(doc, encoding="utf-8") as f:
            expect("after update", 0 if f.read() == good else 1, 0)
    for f in failures:
        print(f)
    print("self-test: " + ("failed" if failures else "the checker catches every planted change"))
    return 1 if failures else 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    tool, flashlab, update, root, args = None, None, False, None, list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--tool" and args:
            tool = args.pop(0)
        elif arg == "--flashlab" and args:
            flashlab = args.pop(0)
        elif arg == "--update":
            update = True
        elif not arg.startswith("-") and root is None:
            root = arg
        else:
            print(f"check_generated_docs.py: unexpected argument '{arg}'\n" +
                  __doc__.split("\n\n")[2], file=sys.stderr)
            return 2
    if tool is None or root is None:
        print("check_generated_docs.py: needs --tool FLASHLAB_SIM_REPORT and ROOT\n" +
              __doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    if not os.path.isdir(root):
        print(f"check_generated_docs.py: '{root}' is not a folder", file=sys.stderr)
        return 2
    try:
        items = tool_items(tool)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"check_generated_docs.py: could not run '{tool} docs': {e}", file=sys.stderr)
        return 2
    if flashlab is not None:
        try:
            items["flashlab-info-presets"] = info_presets_item(flashlab)
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"check_generated_docs.py: could not run '{flashlab} info': {e}",
                  file=sys.stderr)
            return 2
    return run(root, items, update)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
