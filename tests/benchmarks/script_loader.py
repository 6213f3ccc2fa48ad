"""`load_benchmark`: a script of `benchmarks/` as a module, for the tests of its functions."""

import importlib.util
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_benchmark(filename):
    """Runs `benchmarks/<filename>` as a module (its `main` guarded, so nothing trains) and
    returns it. The folder is appended to `sys.path`, so a script that imports another beside
    it (`step_overhead.py` imports `train_throughput`) finds it as when it runs."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.append(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"{Path(filename).stem}_benchmark",
                                                  BENCHMARKS / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
