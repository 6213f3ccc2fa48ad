"""An experiment's report: the question, the setup, tables, plots, a reading and the command.

`Report` is plain data; `Report.markdown()` renders it and `write_report` writes `report.md`
atomically next to its PNGs. A reading is written by the experiment from its own numbers (the
lab never writes prose it did not compute), and every figure in a table carries its unit in
the column header.

Example:

>>> report = Report(name="demo", title="Demo", question="Does it work?",
...                 command="tfllm experiment run demo")
>>> report.add_table("Results", ["arm", "loss (nats)"], [["a", 1.23456]])
>>> report.reading.append("Arm a reached 1.235 nats.")
>>> print(report.markdown().splitlines()[0])
# Demo
>>> "| a | 1.2346 |" in report.markdown()
True
"""

import dataclasses
import math
from pathlib import Path

from tfllm.atomic_files import write_text_atomically


@dataclasses.dataclass
class Table:
    caption: str
    headers: list
    rows: list


@dataclasses.dataclass
class Plot:
    filename: str  # a PNG in the report's folder
    caption: str


@dataclasses.dataclass
class Report:
    """What one experiment found (module docstring). `setup` maps a label to a value (config,
    data, seeds, machine, tokens, wall time); `references` are papers by title and year."""

    name: str
    title: str
    question: str
    command: str
    setup: dict = dataclasses.field(default_factory=dict)
    tables: list = dataclasses.field(default_factory=list)
    plots: list = dataclasses.field(default_factory=list)
    reading: list = dataclasses.field(default_factory=list)
    references: list = dataclasses.field(default_factory=list)
    smoke: bool = False

    def add_table(self, caption, headers, rows):
        if any(len(row) != len(headers) for row in rows):
            raise ValueError(f"Every row of table {caption!r} needs {len(headers)} cells. "
                             f"Received: row lengths {[len(row) for row in rows]}")
        self.tables.append(Table(caption, list(headers), [list(row) for row in rows]))

    def add_plot(self, filename, caption):
        self.plots.append(Plot(filename, caption))

    def numbers(self):
        """Every number in the tables (what the smoke tests check for finiteness)."""
        return [cell for table in self.tables for row in table.rows for cell in row
                if isinstance(cell, (int, float)) and not isinstance(cell, bool)]

    def markdown(self):
        lines = [f"# {self.title}", ""]
        if self.smoke:
            lines += ["*Smoke run: tiny models and budgets that check the code path; its "
                      "numbers say nothing about the question.*", ""]
        lines += ["## Question", "", self.question, "", "## Setup", ""]
        lines += [f"- **{key}**: {value}" for key, value in self.setup.items()]
        lines += ["", "Reproduce:", "", "```", self.command, "```", "", "## Results", ""]
        for table in self.tables:
            lines += [f"**{table.caption}**", "", _markdown_table(table), ""]
        for plot in self.plots:
            lines += [f"![{plot.caption}]({plot.filename})", "", f"*{plot.caption}*", ""]
        if self.reading:
            lines += ["## Reading", ""] + [f"- {line}" for line in self.reading] + [""]
        if self.references:
            lines += ["## References", ""] + [f"- {ref}" for ref in self.references] + [""]
        return "\n".join(lines)


def _cell(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"


def _markdown_table(table):
    rows = [table.headers, ["---"] * len(table.headers)]
    rows += [[_cell(cell) for cell in row] for row in table.rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)


def write_report(report, folder):
    """Writes `report.md` into `folder` (created) through a temporary sibling; returns its path."""
    path = Path(folder) / "report.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, report.markdown())
    return path
