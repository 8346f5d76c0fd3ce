"""lthbench: the lottery ticket hypothesis on neural quantum states, as a benchmark suite.

The paper's shallow FFNN runs in float64, so x64 is enabled here, deliberately and once, before any
array is made; modules that want float32 (the CNN and ResCNN) ask for it explicitly.
"""

import jax

jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"
