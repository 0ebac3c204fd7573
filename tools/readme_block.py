"""readme_block.py - rewrite the text between two marker lines of a file.

The README's program-written parts (the study's findings, the localisation
table) sit between a begin and an end marker; the tools that write them
replace what lies between, and nothing else.

    from readme_block import replace_block
    replace_block("README.md", "<!-- x: begin -->", "<!-- x: end -->", "\\nnew text\\n")
"""
import sys


def replace_block(path, begin, end, body, required=True):
    """Replace the text between begin and end in path with body. Returns
    False when the markers are absent and not required; exits with a
    message when they are required, or present other than once each."""
    text = open(path).read()
    if begin not in text and not required:
        return False
    if text.count(begin) != 1 or text.count(end) != 1:
        sys.exit("%s: expected one '%s' and one '%s' line" % (path, begin, end))
    head, rest = text.split(begin)
    tail = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(head + begin + body + end + tail)
    return True
