"""Print the measured part of docs/claims.md from the results of `archspec experiment --all`.

Usage: PYTHONPATH=$PWD .venv/bin/python tools/claims_markdown.py [RESULTS] > /tmp/claims.md
(RESULTS defaults to runs/experiments); it also copies each plot to docs/images/claims/NAME.svg and .png.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from archspec.experiments.config import experiment_names
from archspec.experiments.runner import cell


def main() -> None:
    """Print one section per experiment, in claim order."""
    results = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/experiments")
    images = Path("docs/images/claims")
    images.mkdir(parents=True, exist_ok=True)
    for name in experiment_names():
        path = results / name / "result.json"
        if not path.is_file():
            print(f"## {name}\n\nNot measured.\n")
            continue
        r = json.loads(path.read_text())
        for suffix in ("svg", "png"):
            shutil.copyfile(results / name / f"plot.{suffix}", images / f"{name}.{suffix}")
        load = ", ".join(str(x) for x in r["machine"]["load_average"])
        print(f"## {r['title']} (`{name}`)\n")
        print(f"> {r['essay']}\n")
        print(f"**Claim.** {r['claim']}\n")
        print(f"**Command.** `{r['command']}` (experiment in `experiments/{name}/`)\n")
        print("| " + " | ".join(r["columns"]) + " |")
        print("|" + "---|" * len(r["columns"]))
        for row in r["rows"]:
            print("| " + " | ".join(cell(v) for v in row) + " |")
        settings = r.get("details", {}).get("settings")
        if settings:  # the verdict under each setting a reader would question
            print("\nUnder each setting:\n")
            print("| " + " | ".join(settings["columns"]) + " |")
            print("|" + "---|" * len(settings["columns"]))
            for row in settings["rows"]:
                print("| " + " | ".join(cell(v) for v in row) + " |")
        print(f"\n**Result.** {r['verdict']}\n")
        print(f"![{name}](images/claims/{name}.svg)\n")
        print(
            f"Measured at commit `{r['commit']}` on {r['machine']['cpus']} CPUs (load average {load}), "
            f"{r['seconds']} s, {r['finished']}.\n"
        )


if __name__ == "__main__":
    main()
