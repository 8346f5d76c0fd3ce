"""asv throughput suites: one class per kernel of `lthbench.bench` (the kernel is compiled in setup,
so asv times warm calls), parametrised by device, TFIM L x L OBC at kappa_c, and net.

time_*: seconds per call; track_seconds_per_step: a training step's own seconds (TrainResult.seconds_per_step);
track_samples_per_s: spin configurations per second of the sweep;
peakmem_*: peak resident memory of the heaviest pieces (10 x 10 training steps, 5 x 5 ED).
"""

from __future__ import annotations

from .common import DEVICE, bench, warmed_kernel

NETS = ["ffnn-a5", "cnn", "rescnn-f16-b4"]


class _KernelSuite:
    kernel_name = ""
    params = ([DEVICE], [4, 10], NETS)
    param_names = ["device", "L", "net"]
    timeout = 1200
    number = 1

    def setup(self, device, L, net):
        self.kernel = warmed_kernel(L, net, self.kernel_name)


class MetropolisSweep(_KernelSuite):
    """Sampling of one step: 64 sweeps x N single-spin proposals on 16 chains (1024 samples)."""

    kernel_name = "sweep"

    def time_sweep(self, device, L, net):
        self.kernel.call()

    def track_samples_per_s(self, device, L, net):
        return self.kernel.configurations / bench.median_seconds(self.kernel.call, repeats=1, warmup=0)

    track_samples_per_s.unit = "samples/s"


class LocalEnergyFast(_KernelSuite):
    """E_loc of 1024 samples by the single-layer fast path (FFNN only)."""

    kernel_name = "local_energy_fast"
    params = ([DEVICE], [4, 10], ["ffnn-a5"])

    def time_local_energy_fast(self, device, L, net):
        self.kernel.call()


class LocalEnergyGeneric(_KernelSuite):
    """E_loc of 1024 samples with one forward pass per partner configuration."""

    kernel_name = "local_energy_generic"

    def time_local_energy_generic(self, device, L, net):
        self.kernel.call()


class SRStep(_KernelSuite):
    """The SR direction as the trainer computes it for a dense net (lthbench.bench.sr_direction)."""

    kernel_name = "sr_step"

    def time_sr_step(self, device, L, net):
        self.kernel.call()


class _StepSuite(_KernelSuite):
    """Training steps report `TrainResult.seconds_per_step` (the step alone: `train` also sets up chains
    and evaluates the frozen state, which a time_ benchmark would count), as a track_ in seconds."""

    def track_seconds_per_step(self, device, L, net):
        return self.kernel.seconds_of(self.kernel.call())

    track_seconds_per_step.unit = "seconds"


class TrainStep(_StepSuite):
    """One full Monte Carlo training step of lthbench.vmc.train, dense net."""

    kernel_name = "train_step"


class TrainStepPruned(_StepSuite):
    """One training step of the net under a random mask of density 0.5 (per-sample-Jacobian SR path)."""

    kernel_name = "train_step_pruned"
    params = ([DEVICE], [4, 10], ["ffnn-a5"])


class PeakMemoryTrainStep(_KernelSuite):
    """Peak resident memory of the heaviest training step asv runs on every backend (10 x 10 FFNN alpha 5)."""

    kernel_name = "train_step"
    params = ([DEVICE], [10], ["ffnn-a5"])

    def peakmem_train_step(self, device, L, net):
        self.kernel.call()


class ExactStep(_StepSuite):
    """One full-sum (exact mode) training step on the 4 x 4 TFIM (65536 states)."""

    kernel_name = "exact_step"
    params = ([DEVICE], [4], NETS)


class ExactDiagonalisation:
    """Lanczos ground energy of the L x L TFIM (lthbench.exact.ground_energy), no caching between calls."""

    params = ([DEVICE], [4, 5])
    param_names = ["device", "L"]
    timeout = 1200
    number = 1
    repeat = (1, 3, 60.0)

    def setup(self, device, L):
        self.kernel = bench.kernel(bench.tfim_case(L, "ffnn-a1"), "ed")

    def time_ed(self, device, L):
        self.kernel.call()


class PeakMemoryED:
    """Peak resident memory of the 5 x 5 TFIM Lanczos (2^24 even-sector states)."""

    params = ([DEVICE], [5])
    param_names = ["device", "L"]
    timeout = 1200

    def setup(self, device, L):
        self.kernel = bench.kernel(bench.tfim_case(L, "ffnn-a1"), "ed")

    def peakmem_ed(self, device, L):
        self.kernel.call()
