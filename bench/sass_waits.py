#!/usr/bin/env python3
"""Where ptxas put the waits for wgmma products against the softmax's exponentials, kernel by
kernel, in a SASS listing (cuobjdump -sass of an sm_90a object or binary).

For each kernel it prints, from its first HGMMA on, the order of the waits
(WARPGROUP.DEPBAR.LE gsb0, N: "W0" waits for every product, "W1" for all but the last group
committed), the runs of exponentials (MUFU.EX2, "EX<count>") and the branches between them ("|"),
then a verdict on the largest run of exponentials (the softmax of a tile):
  - "softmax waits for every product": the last token before it is W0, with no branch between,
    so the exponentials start only once every product in flight is done;
  - "softmax runs with products in flight": anything else.
The forward's source issues S_j and P_{j-1} V_{j-1}, waits for S_j only (W1), runs the softmax and
then waits for P V (W0); ptxas (CUDA 13.0) moves that W0 above the softmax unless something it
keeps in order holds it below (docs/performance.md, "v22").

A last line counts the kernels of each verdict.

Usage: cuobjdump -sass build/gpu/cuda/CMakeFiles/flashlab_cuda.dir/src/flash_fwd.cu.o |
           bench/sass_waits.py [--match flash_fwd_hopper] [--tokens 10]
       bench/sass_waits.py --input LISTING[.gz] [...]
       bench/sass_waits.py --self-test
cuobjdump is not in the CUDA toolkit's compiler-only installs; `pip install nvidia-cuda-cuobjdump`
brings one (nvidia/cu13/bin/cuobjdump)."""
import argparse
import gzip
import io
import re
import sys

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


def read_kernels(lines, match):
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
        raise ValueError("no 'Function :' header: not a cuobjdump -sass listing")
    return [k for k in kernels if re.search(match, k.name)]


def main_with(argv, stdin, stdout):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--match", default="flash_fwd_hopper", help="regex on the mangled names")
    ap.add_argument("--tokens", type=int, default=10, help="tokens shown per kernel")
    ap.add_argument("--input", help="the listing (gzip if it ends in .gz); default stdin")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args(argv)
    if a.self_test:
        return self_test()
    try:
        if a.input:
            opener = gzip.open if a.input.endswith(".gz") else open
            with opener(a.input, "rt") as f:
                kernels = read_kernels(f, a.match)
        else:
            kernels = read_kernels(stdin, a.match)
    except (OSError, ValueError) as e:
        print(f"sass_waits.py: {e}", file=sys.stderr)
        return 1
    if not kernels:
        print(f"sass_waits.py: no kernel matches '{a.match}'", file=sys.stderr)
        return 1
    for k in sorted(kernels, key=lambda k: k.name):
        print(f"{k.summary(a.tokens)}  {k.name}", file=stdout)
    verdicts = [k.verdict() for k in kernels]
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in sorted(set(verdicts)))
    print(f"{len(kernels)} kernels: {counts}", file=stdout)
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
    out = io.StringIO()
    assert main_with(["--match", "hoisted|overlapped"], io.StringIO(LISTING), out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert lines[2] == ("2 kernels: 1 softmax runs with products in flight, "
                        "1 softmax waits for every product"), lines[2]
    assert lines[0].startswith("W1 | W0 W0 EX3 W0 ") and "waits for every product" in lines[0]
    assert lines[0].endswith("hoisted"), lines[0]
    assert lines[1].startswith("W1 | W0 | EX2 W0 ") and "products in flight" in lines[1]
    # A kernel without products shows nothing; without exponentials says so.
    kernels = read_kernels(LISTING.splitlines(), "other_kernel")
    assert kernels[0].tokens == [] and kernels[0].verdict() == "no exponentials"
    # Not a listing, or nothing matching: a clear error and a non-zero exit.
    err = io.StringIO()
    stderr, sys.stderr = sys.stderr, err
    try:
        assert main_with([], io.StringIO("hello\n"), io.StringIO()) == 1
        assert main_with(["--match", "nothing"], io.StringIO(LISTING), io.StringIO()) == 1
        assert main_with(["--input", "/nonexistent/listing.gz"], io.StringIO(), io.StringIO()) == 1
    finally:
        sys.stderr = stderr
    assert "not a cuobjdump -sass listing" in err.getvalue()
    assert "no kernel matches 'nothing'" in err.getvalue()
    assert "/nonexistent/listing.gz" in err.getvalue()
    print("sass_waits.py self-test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main_with(sys.argv[1:], sys.stdin, sys.stdout))
