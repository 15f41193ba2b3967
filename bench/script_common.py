"""What the benchmark's summary scripts (summarize_bench.py, ab_compare.py) share: their command
line's help from the module's docstring, their output (standard output and a Markdown copy),
and their self-tests' refusals and verdict."""
import argparse
import sys


def parser_from_doc(doc):
    """An argument parser whose description is the docstring's first paragraph and whose epilog
    is the rest of it after the first two lines (usage, examples, exit status)."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter,
                                   epilog=doc.split("\n", 2)[2])


def print_and_save(text, markdown_path=None):
    """Prints the summary and, with a path, writes the same text there; returns exit status 0."""
    sys.stdout.write(text)
    if markdown_path:
        with open(markdown_path, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


def check_refusals(refusals, error_type, failures):
    """refusals: label -> (call, message). Each call must raise error_type with message in its
    text; what does not is added to failures."""
    for label, (call, message) in refusals.items():
        try:
            call()
            failures.append(f"self-test: {label}: accepted")
        except error_type as e:
            if message not in str(e):
                failures.append(f"self-test: {label}: message {str(e)!r} lacks {message!r}")


def verdict(failures):
    """Prints the failures and the self-test's result; returns the exit status."""
    for f in failures:
        print(f, file=sys.stderr)
    print("self-test: " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0
