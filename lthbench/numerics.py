"""The numerics version: an integer that names the engine's numbers.

It is bumped exactly when the regression gate's reference is re-recorded (`python -m lthbench.regression
--update`), i.e. when a change is known to move fixed-key results. Cell identities include it, so a
resumable run refuses to mix cells computed by two engines, while ordinary landings (which keep the
gate bit-identical) do not invalidate long runs.
"""

NUMERICS_VERSION = 1
