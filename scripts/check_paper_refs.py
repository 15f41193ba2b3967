#!/usr/bin/env python3
"""Checks that every reference to an algorithm or a line of the FlashAttention papers uses
flashlab's one spelling, so a reader can open the paper at the line a comment cites.

The spelling (docs/theory.md, "Reading the line numbers"):
  FA1 Alg. 2            an algorithm: paper (FA1 = arXiv 2205.14135v2, FA2 = arXiv 2307.08691)
  FA1 Alg. 2 l. 10      one line of it
  FA1 Alg. 4 l. 19–22   a range, with an en dash
  FA2 Alg. 1 l. 5 and 12–15,  FA1 Alg. 4 l. 14, 15 and 18   a list
Refused: "Alg. 2" without its paper, "Algorithm 1", "line 9" or "l. 9" without an algorithm,
"FA1 Alg. 2 line 10", "lines 8–10", "19-22" (hyphen), "FA1 Alg. 2/5", an algorithm the paper
does not have and a line past the algorithm's end.

usage: check_paper_refs.py [ROOT] [--pending DIR]...   scan ROOT (default: the repository)
       check_paper_refs.py --self-test SAMPLES           check the checker on sample lines
--pending DIR lists DIR's findings without failing (a folder another branch is rewriting).
Exit status: 0 clean, 1 malformed references found, 2 bad usage.
"""
import os
import re
import subprocess
import sys

# Lines of each algorithm as printed (FA1 arXiv v2: Alg. 0 in §2.2, Alg. 1 in §3.1, Alg. 2-5 in
# App. B; FA2: Alg. 1 and 2 in §3). A citation past the last line is a typo.
PAPER_LINES = {
    ("FA1", 0): 4,
    ("FA1", 1): 16,
    ("FA1", 2): 19,
    ("FA1", 3): 6,
    ("FA1", 4): 26,
    ("FA1", 5): 20,
    ("FA2", 1): 17,
    ("FA2", 2): 20,
}

SCANNED_SUFFIXES = (".cpp", ".hpp", ".h", ".cu", ".cuh", ".md", ".txt", ".patch", ".py", ".sh",
                    ".cmake", ".in")
# Recorded tool output and binary fixtures (not prose anyone edits), and this checker and its
# samples, which spell the refused forms on purpose.
SKIPPED_PREFIXES = ("bench/results/", "tests/io/corpus/", "scripts/check_paper_refs.py",
                    "tests/docs/paper_refs_samples.txt")

# A line that says it holds no paper reference (a line number of something else, e.g. a step of
# a user's own code in a message) is not checked.
EXEMPT = "not a paper reference"

_ITEM = r"\d+(?:[–-]\d+)?"
_REF = re.compile(r"\b(FA[0-9]) Alg\. (\d+)(?: l\. (" + _ITEM + r"(?:(?:, | and )" + _ITEM +
                  r")*))?")
_BAD = [
    (re.compile(r"\bAlg\b\.?"), "algorithm without its paper: write 'FA1 Alg. N' or 'FA2 Alg. N'"),
    (re.compile(r"\balg\. ?\d"), "algorithm without its paper: write 'FA1 Alg. N' or 'FA2 Alg. N'"),
    (re.compile(r"\bAlgorithms? \d"), "spelled-out algorithm: write 'FA1 Alg. N' or 'FA2 Alg. N'"),
    (re.compile(r"\b[Ll]ines? ~?\d"),
     "line number without algorithm and paper: write 'FA1 Alg. N l. K' (or 'l.' after the algorithm)"),
    (re.compile(r"\bl{1,2}\. ?\d"),
     "'l. K' must directly follow its algorithm: 'FA1 Alg. N l. K'"),
]


def problems(text):
    """The malformed references in one line of text, as messages (empty when it is clean)."""
    if EXEMPT in text:
        return []
    found = []
    masked = text
    for ref in _REF.finditer(text):
        paper, alg, lines = ref.group(1), int(ref.group(2)), ref.group(3)
        label = f"{paper} Alg. {alg}"
        end = ref.end()
        if (paper, alg) not in PAPER_LINES:
            known = ", ".join(f"{p} Alg. {a}" for p, a in PAPER_LINES)
            found.append(f"'{label}' is not an algorithm of the papers (known: {known})")
        elif lines:
            last = PAPER_LINES[(paper, alg)]
            for item in re.split(r", | and ", lines):
                if "-" in item:
                    found.append(f"'{label} l. {item}': write ranges with an en dash (–)")
                bounds = [int(x) for x in re.split(r"[–-]", item)]
                if any(b < 1 or b > last for b in bounds):
                    found.append(f"'{label} l. {item}': {label} has lines 1–{last}")
                elif len(bounds) == 2 and bounds[0] >= bounds[1]:
                    found.append(f"'{label} l. {item}': a range runs from low to high")
        if re.match(r"/\d", text[end:]):
            found.append(f"'{label}/…': cite one algorithm per reference ('{label} and FA1 Alg. M')")
        if not lines and re.match(r" l\.\s*$", text[end:]):
            found.append(f"'{label} l.' at the end of the line: keep a reference on one line")
        if re.match(r"[–-]\d", text[end:]):
            found.append(f"'{text[ref.start():end + 3]}…': a range needs 'l.' before it")
        masked = masked[:ref.start()] + "#" * (end - ref.start()) + masked[end:]
    for pattern, message in _BAD:
        for bad in pattern.finditer(masked):
            found.append(f"{message} (at '{text[bad.start():bad.start() + 24].strip()}')")
    return found


def tracked_files(root):
    """Files to scan: git's tracked and untracked-but-not-ignored files, else a walk of the tree
    that leaves out build folders and hidden folders."""
    try:
        out = subprocess.run(
            ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True, capture_output=True).stdout
        return sorted({p for p in out.decode().split("\0") if p})
    except (OSError, subprocess.CalledProcessError):
        paths = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith((".", "build"))]
            paths += [os.path.relpath(os.path.join(folder, f), root) for f in files]
        return sorted(paths)


def scanned(path):
    name = os.path.basename(path)
    return ((path.endswith(SCANNED_SUFFIXES) or name == "CMakeLists.txt") and
            not path.startswith(SKIPPED_PREFIXES))


def scan(root, pending):
    failures, deferred = [], []
    for path in filter(scanned, tracked_files(root)):
        full = os.path.join(root, path)
        if not os.path.isfile(full):
            continue  # deleted in the work tree, not yet in git
        with open(full, encoding="utf-8", errors="replace") as f:
            for number, text in enumerate(f, 1):
                for message in problems(text.rstrip("\n")):
                    entry = f"{path}:{number}: {message}\n    {text.strip()}"
                    is_pending = any(path.startswith(p.rstrip("/") + "/") for p in pending)
                    (deferred if is_pending else failures).append(entry)
    for entry in deferred:
        print("pending: " + entry)
    if deferred:
        print(f"{len(deferred)} malformed references in {', '.join(pending)} are pending "
              "(listed, not failing)")
    for entry in failures:
        print(entry)
    if failures:
        print(f"{len(failures)} malformed paper references; the spelling is 'FA1 Alg. 2 l. 10', "
              "'FA2 Alg. 1 l. 8', ranges 'FA1 Alg. 4 l. 19–22' (scripts/check_paper_refs.py)")
        return 1
    print("paper references: all in the one spelling")
    return 0


def self_test(samples_path):
    """Each sample line is 'bad: TEXT' (must be flagged) or 'good: TEXT' (must pass)."""
    wrong, count = [], 0
    with open(samples_path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            kind, _, text = line.partition(": ")
            if kind not in ("bad", "good"):
                print(f"{samples_path}:{number}: expected 'bad: ' or 'good: ', got '{line}'")
                return 2
            count += 1
            found = problems(text)
            if kind == "bad" and not found:
                wrong.append(f"{samples_path}:{number}: not flagged: {text}")
            if kind == "good" and found:
                wrong.append(f"{samples_path}:{number}: flagged ({'; '.join(found)}): {text}")
    for entry in wrong:
        print(entry)
    print(f"{count - len(wrong)} of {count} samples classified as expected")
    return 1 if wrong or count == 0 else 0


def main(argv):
    args, pending, root = list(argv), [], None
    if args[:1] == ["--self-test"] and len(args) == 2:
        return self_test(args[1])
    while args:
        arg = args.pop(0)
        if arg == "--pending" and args:
            pending.append(args.pop(0))
        elif arg.startswith("-") or root is not None:
            print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
            print(f"check_paper_refs.py: unexpected argument '{arg}'", file=sys.stderr)
            return 2
        else:
            root = arg
    root = root or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    if not os.path.isdir(root):
        print(f"check_paper_refs.py: '{root}' is not a folder", file=sys.stderr)
        return 2
    return scan(root, pending)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
