"""asv benchmark suites for lthbench (see README "Benchmarks"): throughput (`throughput.py`) and
accuracy history (`accuracy.py`). `common.py` makes the benchmark processes import lthbench from this
checkout, whatever else is installed in the environment asv runs them in."""
