"""Code and docs cite only files in the repository: the product rules live in
docs/product.md, not in a brief somewhere else."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(r"DOMAIN\.md|/work/|shared/DOMAIN|seed/0|\bthe brief\b")


def test_no_source_cites_a_file_outside_the_repository() -> None:
    sources = [*ROOT.glob("post001/**/*.py"), *ROOT.glob("migrations/**/*.py"),
               *ROOT.glob("tests/**/*.py"), *ROOT.glob("benchmarks/*.py"),
               *ROOT.glob("docs/*.md"), ROOT / "README.md"]
    here = Path(__file__).resolve()
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in sources if path != here
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if OUTSIDE.search(line)]
    assert offenders == []


def test_the_product_rules_are_in_the_repository() -> None:
    text = (ROOT / "docs" / "product.md").read_text(encoding="utf-8")
    for section in ("## Permissions", "## How writing goes", "## Large libraries",
                    "## Words on screen", "## Privacy on the writer's machine"):
        assert section in text
