"""Run the README's library example ("The Python library in ten lines") as a user would
paste it, in an empty folder, against the installed package."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

readme = Path(sys.argv[1]).read_text(encoding="utf-8")
section = readme.split("## The Python library in ten lines", 1)[1]
match = re.search(r"```python\n(.*?)```", section, re.S)
if match is None:
    raise SystemExit("README: no python example under 'The Python library in ten lines'")
folder = tempfile.mkdtemp(prefix="post001-readme-")
os.chdir(folder)
os.environ["POST001_DATA_DIR"] = str(Path(folder) / "data")
os.environ["POST001_CONFIG"] = str(Path(folder) / "config.toml")
exec(compile(match.group(1), "README.md example", "exec"), {"__name__": "__main__"})
print("README example: ran")
