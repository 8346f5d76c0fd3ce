"""The built-in pruning methods, one per module: magnitude, random (IRP), SNIP, SynFlow.

Each is a `ScoreMethod` (a score function; `lthbench.pruning.select` turns scores into a mask). Their
fingerprint identity is 'lthbench.pruning:<QualName>' whatever the submodule (`identity.stable_qualname`),
so keep the class names.
"""

from .magnitude import Magnitude
from .random import RandomPruning
from .snip import SNIP
from .synflow import SynFlow

__all__ = ["SNIP", "Magnitude", "RandomPruning", "SynFlow"]
