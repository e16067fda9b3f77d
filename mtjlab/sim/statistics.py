"""What the chip model's device statistics make of a weight stored as a differential pair, for
training that expects them (statistics-aware training)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mtjlab.sim.chip import (
    OPEN,
    STUCK_AP,
    STUCK_P,
    ChipSpec,
    defect_classes,
    device_diameters_nm,
    positive_normal,
)
from mtjlab.sim.device import tmr

WeightSampler = Callable[[np.random.Generator, np.ndarray], np.ndarray]


def pair_weight_sampler(
    spec: ChipSpec, v_read_v: float, diameter_nm: float | None = None
) -> WeightSampler:
    """A function ``(rng, w) -> effective weights`` for +-1 weights ``w`` stored as pairs.

    Each pair's two devices are drawn from ``spec`` as devices of ``diameter_nm`` (by default
    the median of the spec's diameters): R_P lognormal and TMR0 normal about their means, R_P
    also as 1 / d^2 of the device's own diameter when the spec spreads it, and a defect class
    with the spec's rates for that size. The effective weight is the pair's
    conductance difference at ``v_read_v`` over the nominal pair's, times the weight, so a
    nominal pair gives exactly +-1. A device stuck in the other state makes the pair's two
    conductances alike (0); an open device leaves only the other one's (-1/TMR when the P-side
    device is open, (1 + TMR)/TMR when the AP-side one is). Shorted devices are left out: a
    short pulls its row and column to itself and ruins its unit whatever the weights are, so
    there is nothing for training to learn from it.
    """
    if diameter_nm is None:
        diameter_nm = float(np.median(spec.diameters_nm))
    t0 = float(tmr(v_read_v, spec.tmr0, spec.v_half_v))
    nominal = t0 / (1.0 + t0)  # G_P - G_AP for R_P = 1

    def device(rng: np.random.Generator, shape: tuple[int, ...]):
        """Conductances of devices in P and in AP, and their defect class, drawn as the chip
        draws them."""
        g_p = 1.0 / rng.lognormal(0.0, spec.sigma_r_p_log, size=shape)
        if spec.sigma_diameter_nm > 0:
            g_p = g_p * (device_diameters_nm(spec, diameter_nm, rng, shape) / diameter_nm) ** 2
        t = tmr(
            v_read_v, positive_normal(rng, spec.tmr0, spec.sigma_tmr0_rel, shape), spec.v_half_v
        )
        g_ap = g_p / (1.0 + t)
        return g_p, g_ap, defect_classes(spec, rng.random(shape), diameter_nm)

    def sample(rng: np.random.Generator, w: np.ndarray) -> np.ndarray:
        shape = np.shape(w)
        p_gp, p_gap, p_defect = device(rng, shape)  # the device that should read P
        a_gp, a_gap, a_defect = device(rng, shape)  # the device that should read AP
        g_pside = np.select([p_defect == STUCK_AP, p_defect == OPEN], [p_gap, 0.0], p_gp)
        g_apside = np.select([a_defect == STUCK_P, a_defect == OPEN], [a_gp, 0.0], a_gap)
        return np.asarray(w) * (g_pside - g_apside) / nominal

    return sample
