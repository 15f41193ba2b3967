#!/usr/bin/env python3
"""Where ptxas put the waits for wgmma products against the softmax's exponentials, kernel by
kernel, in a SASS listing (cuobjdump -sass of an sm_90a object or binary).

For each kernel it prints, from its first HGMMA on, the order of the waits
(WARPGROUP.DEPBAR.LE gsb0, N: "W0" waits for every product, "W1" for all but the last group
committed), the runs of exponentials (MUFU.EX2, "EX<count>") and the branches between them ("|"),
then a verdict on the largest run of exponentials (the softmax of a tile): "softmax waits for
every product" where the token just before it is W0 (no branch between), else "softmax runs
with products in flight"; a last line counts the kernels of each verdict. The forward's source
issues S_j and P_{j-1} V_{j-1}, waits for S_j only (W1), runs the softmax and then waits for P V
(W0); ptxas (CUDA 13.0) moves that W0 above the softmax unless something it keeps in order holds
it below (docs/performance.md, "v22").

Usage: sass_waits.py [--input LISTING[.gz]] [--match REGEX] [--tokens N]   (default: stdin)
       sass_waits.py --self-test
Example (v22's forward; cuobjdump from `pip install nvidia-cuda-cuobjdump` where the toolkit has
none, in site-packages/nvidia/cu13/bin):
  cuobjdump -sass build/gpu/cuda/CMakeFiles/flashlab_cuda.dir/src/flash_fwd.cu.o | bench/sass_waits.py
  bench/sass_waits.py --input bench/results/v22_h200/sass/bwd_main.sass.gz --match flash_bwd_hopper
Exit status: 0 printed, 1 not a listing, unreadable or no kernel matching, 2 bad usage."""
import gzip
import re
import sys

from script_common import check_refusals, parser_from_doc, verdict

FUNCTION = re.compile(r"Function : (\S+)")
WAIT = re.compile(r"WARPGROUP\.DEPBAR\.LE\s+gsb0,\s*0x([0-9a-f]+)")
BRANCH = re.compile(r"\b(BRA|BSYNC|BSSY|EXIT|RET)\b")


class Kernel:
    def __init__(self, name):
        self.name = name
        self.tokens = []  # "W<n>", "EX<count>", "|"
        self.started = False
        self.ex_run = 0

    def add(self, line):
        if "HGMMA" in line:
            self.started = True
        if not self.started:
            return
        if "MUFU.EX2" in line:
            self.ex_run += 1
            return
        wait = WAIT.search(line)
        branch = BRANCH.search(line)
        if wait or branch:
            self.close_run()
        if wait:
            self.tokens.append("W" + str(int(wait.group(1), 16)))
        elif branch and (not self.tokens or self.tokens[-1] != "|"):
            self.tokens.append("|")

    def close_run(self):
        if self.ex_run:
            self.tokens.append("EX" + str(self.ex_run))
            self.ex_run = 0

    def verdict(self):
        runs = [(int(t[2:]), i) for i, t in enumerate(self.tokens) if t.startswith("EX")]
        if not runs:
            return "no exponentials"
        _, at = max(runs)
        before = self.tokens[at - 1] if at > 0 else ""
        if before == "W0":
            return "softmax waits for every product"
        return "softmax runs with products in flight"

    def summary(self, tokens):
        shown = " ".join(self.tokens[:tokens])
        return f"{shown:<44} {self.verdict()}"


class InputError(Exception):
    """Not a listing, an unreadable file, or no kernel matching; the message says which."""


def read_kernels(lines, match):
    """The kernels of a listing whose mangled names match the regex `match`."""
    kernels, current = [], None
    for line in lines:
        found = FUNCTION.search(line)
        if found:
            if current:
                current.close_run()
            current = Kernel(found.group(1))
            kernels.append(current)
        elif current:
            current.add(line)
    if current:
        current.close_run()
    if not kernels:
        raise InputError("no 'Function :' header: not a cuobjdump -sass listing")
    matching = [k for k in kernels if re.search(match, k.name)]
    if not matching:
        raise InputError(f"no kernel matches '{match}'")
    return matching


def load(path, match, stdin):
    """read_kernels over the file at `path` (gzip if it ends in .gz), or over stdin without one."""
    if not path:
        return read_kernels(stdin, match)
    try:
        with (gzip.open if path.endswith(".gz") else open)(path, "rt", encoding="utf-8") as f:
            return read_kernels(f, match)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}")


def report(kernels, tokens):
    """One line per kernel, then the count of each verdict."""
    lines = [f"{k.summary(tokens)}  {k.name}" for k in sorted(kernels, key=lambda k: k.name)]
    verdicts = [k.verdict() for k in kernels]
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in sorted(set(verdicts)))
    return lines + [f"{len(kernels)} kernels: {counts}"]


def main():
    ap = parser_from_doc(__doc__)
    ap.add_argument("--input", help="the listing (gzip if it ends in .gz); default stdin")
    ap.add_argument("--match", default="flash_fwd_hopper", help="regex on the mangled names")
    ap.add_argument("--tokens", type=int, default=10, help="tokens shown per kernel")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    try:
        kernels = load(a.input, a.match, sys.stdin)
    except InputError as e:
        print(f"sass_waits.py: {e}", file=sys.stderr)
        return 1
    print("\n".join(report(kernels, a.tokens)))
    return 0


LISTING = """
        Function : hoisted
        /*0010*/  HGMMA.64x128x16.F32 R24, gdesc[UR8], RZ, !UPT ;
        /*0020*/  WARPGROUP.DEPBAR.LE gsb0, 0x1 ;
        /*0030*/  BRA 0x50 ;
        /*0040*/  WARPGROUP.DEPBAR.LE gsb0, 0x0 ;
        /*0050*/  FMNMX R11, R25, R24, !PT ;
        /*0060*/  WARPGROUP.DEPBAR.LE gsb0, 0x0 ;
        /*0070*/  MUFU.EX2 R24, R24 ;
        /*0080*/  MUFU.EX2 R25, R25 ;
        /*0090*/  MUFU.EX2 R26, R26 ;
        /*00a0*/  WARPGROUP.DEPBAR.LE gsb0, 0x0 ;
        Function : overlapped
        /*0010*/  HGMMA.64x128x16.F32 R24, gdesc[UR8], RZ, !UPT ;
        /*0020*/  WARPGROUP.DEPBAR.LE gsb0, 0x1 ;
        /*0030*/  BRA 0x50 ;
        /*0040*/  WARPGROUP.DEPBAR.LE gsb0, 0x0 ;
        /*0045*/  BSYNC B0 ;
        /*0050*/  MUFU.EX2 R24, R24 ;
        /*0060*/  MUFU.EX2 R25, R25 ;
        /*0070*/  @!P0 STS [R7+UR28+0x54], R8 ;
        /*0080*/  WARPGROUP.DEPBAR.LE gsb0, 0x0 ;
        Function : other_kernel
        /*0010*/  MUFU.EX2 R24, R24 ;
"""


def self_test():
    """Two kernels worked out by hand (the wait hoisted above the exponentials, and held below
    them by a store), a kernel without products, and the refusals."""
    failures = []
    lines = report(read_kernels(LISTING.splitlines(), "hoisted|overlapped"), 10)
    want = ["W1 | W0 W0 EX3 W0", "waits for every product", "hoisted",
            "W1 | W0 | EX2 W0", "runs with products in flight", "overlapped",
            "2 kernels: 1 softmax runs with products in flight, 1 softmax waits for every product"]
    got = [(lines[0].startswith(want[0]) and want[1] in lines[0] and lines[0].endswith(want[2])),
           (lines[1].startswith(want[3]) and want[4] in lines[1] and lines[1].endswith(want[5])),
           len(lines) == 3 and lines[2] == want[6]]
    if not all(got):
        failures.append("self-test: the report is not the one worked out by hand:\n"
                        + "\n".join(lines))
    # No HGMMA: no tokens, so no exponentials to judge.
    other = read_kernels(LISTING.splitlines(), "other_kernel")[0]
    if other.tokens or other.verdict() != "no exponentials":
        failures.append(f"self-test: other_kernel reads as {other.tokens}, {other.verdict()}")
    refusals = {
        "not a listing": (lambda: read_kernels(["hello"], "."), "not a cuobjdump -sass listing"),
        "nothing matching": (lambda: read_kernels(LISTING.splitlines(), "nothing"),
                             "no kernel matches 'nothing'"),
        "missing file": (lambda: load("/nonexistent/listing.gz", ".", None), "cannot read"),
    }
    check_refusals(refusals, InputError, failures)
    return verdict(failures)


if __name__ == "__main__":
    sys.exit(main())
