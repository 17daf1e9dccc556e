#!/usr/bin/python3
"""Every icon the panel draws (src/ui/theme.cpp, kIconRanges) is in the icon font the site ships
(build/wasm/fonts/icons.ttf, subset by src/app/CMakeLists.txt ICON_RANGES): a code point missing
from the subset draws as the fallback box. Usage: icons.py <theme.cpp> <icons.ttf>"""
import re
import sys

from fontTools.ttLib import TTFont

theme, font = sys.argv[1], sys.argv[2]
text = open(theme, encoding="utf-8").read()
block = re.search(r"kIconRanges\[\]\s*=\s*\{(.*?)\};", text, re.S)
if not block:
    sys.exit(f"{theme}: kIconRanges not found")
values = [int(v, 16) for v in re.findall(r"0x([0-9A-Fa-f]+)", block.group(1))]
wanted = set()
for lo, hi in zip(values[0::2], values[1::2]):
    wanted.update(range(lo, hi + 1))
have = set(TTFont(font).getBestCmap())
missing = sorted(wanted - have)
if missing:
    sys.exit("icons missing from " + font + ": " + ", ".join(f"U+{c:04X}" for c in missing) +
             " (add them to ICON_RANGES in src/app/CMakeLists.txt)")
print(f"{len(wanted)} icons, all in {font}")
