"""The MTJ device model: resistance versus bias in the P and AP states, switching probability of a
pulse, and barrier breakdown. Every parameter is a numpy array, one value per device.

Switching is thermally activated below the critical voltage, with a barrier that falls as
(1 - |V|/Vc0)^n, and may add a precessional channel above it whose rate grows as |V|/Vc0 - 1
(see ``docs/device-model.md`` for the laws, their sources and why they are combined as they are).

Polarity convention: the device voltage is V(row line) - V(column line). A positive voltage drives
P -> AP, a negative one drives AP -> P (see ``docs/device-model.md`` for the defaults and sources).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from mtjlab.core.states import AP


@dataclass(frozen=True)
class MTJParams:
    """Per-device parameters of magnetic tunnel junctions; every field has the array's shape.

    Attributes
    ----------
    r_p_ohm : ndarray
        Parallel-state resistance, R_P = RA / area.
    tmr0 : ndarray
        Zero-bias tunnel magnetoresistance ratio (1.5 means 150 %).
    v_half_v : ndarray
        Bias at which the TMR has fallen to half its zero-bias value.
    delta : ndarray
        Thermal stability factor E_b / k_B T.
    tau0_s : ndarray
        Attempt time of thermally activated switching.
    vc0_p_to_ap_v : ndarray
        Critical voltage (magnitude, applied with positive polarity) for P -> AP switching.
    vc0_ap_to_p_v : ndarray
        Critical voltage (magnitude, applied with negative polarity) for AP -> P switching.
    v_breakdown_v : ndarray
        Bias magnitude above which the tunnel barrier breaks down into a permanent short.
    barrier_exponent : ndarray
        Exponent n of the barrier law E(V) = Delta (1 - |V|/Vc0)^n; 1 is the linear law.
    tau0_prec_s : ndarray
        Time constant of precessional switching above Vc0, which adds the rate
        (|V|/Vc0 - 1) / tau0_prec_s; 0 means no precessional channel (tau = tau0 above Vc0).

    The last two fields may be given as plain numbers (they are then spread over the shape of
    ``r_p_ohm``), so parameters built before they existed still build and behave as before.
    """

    r_p_ohm: np.ndarray
    tmr0: np.ndarray
    v_half_v: np.ndarray
    delta: np.ndarray
    tau0_s: np.ndarray
    vc0_p_to_ap_v: np.ndarray
    vc0_ap_to_p_v: np.ndarray
    v_breakdown_v: np.ndarray
    # Number defaults, made arrays by __post_init__: parameters built with the eight fields above
    # keep building, and mean what they meant before these two existed.
    barrier_exponent: np.ndarray = 1.0  # type: ignore[assignment]
    tau0_prec_s: np.ndarray = 0.0  # type: ignore[assignment]

    def __post_init__(self) -> None:
        # Every field one array of one shape, as the model's callers expect.
        for name in ("barrier_exponent", "tau0_prec_s"):
            value: Any = getattr(self, name)
            if np.ndim(value) == 0:
                object.__setattr__(self, name, np.full(np.shape(self.r_p_ohm), float(value)))

    @classmethod
    def uniform(cls, shape: tuple[int, ...], **values: float) -> MTJParams:
        """Parameters with the same value on every device of ``shape`` (defaults for the rest)."""
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(
                f"unknown MTJ parameter(s) {sorted(unknown)}; "
                f"known: {[f.name for f in fields(cls)]}"
            )
        merged = {**DEFAULT_DEVICE, **values}
        return cls(**{name: np.full(shape, float(v)) for name, v in merged.items()})

    def with_values(self, **arrays: np.ndarray) -> MTJParams:
        """A copy with some fields replaced."""
        return replace(self, **arrays)


#: Nominal device of the default chip, in SI units (see docs/device-model.md for sources).
DEFAULT_DEVICE: dict[str, float] = {
    "r_p_ohm": 5.0e3,
    "tmr0": 1.5,
    "v_half_v": 0.5,
    "delta": 50.0,
    "tau0_s": 1e-9,
    "vc0_p_to_ap_v": 0.55,
    "vc0_ap_to_p_v": 0.40,
    "v_breakdown_v": 1.35,
    "barrier_exponent": 1.0,
    "tau0_prec_s": 0.0,
}


def tmr(v: ArrayLike, tmr0: ArrayLike, v_half_v: ArrayLike) -> np.ndarray:
    """Bias-dependent TMR: TMR0 / (1 + (V / V_half)^2)."""
    x = np.asarray(v) / np.asarray(v_half_v)
    return np.asarray(tmr0) / (1.0 + x * x)


def resistance_ohm(state: np.ndarray, v: ArrayLike, params: MTJParams) -> np.ndarray:
    """Resistance at bias ``v``: R_P in the P state, R_P (1 + TMR(V)) in the AP state."""
    r_ap = params.r_p_ohm * (1.0 + tmr(v, params.tmr0, params.v_half_v))
    return np.where(np.asarray(state) == AP, r_ap, params.r_p_ohm)


def current_and_slope(
    state: np.ndarray, v: ArrayLike, params: MTJParams
) -> tuple[np.ndarray, np.ndarray]:
    """Device current I(V) = V / R(V) and its slope dI/dV, for Newton's method.

    For the AP state R(V) = R_P (1 + T0 / (1 + x^2)) with x = V / V_half, so
    dI/dV = 1/R + 2 R_P T0 x^2 / ((1 + x^2)^2 R^2), which is never below 1/R: the slope
    conductance stays positive and the nodal matrix stays positive definite.
    """
    v = np.asarray(v, dtype=float)
    x = v / params.v_half_v
    one_x2 = 1.0 + x * x
    r_ap = params.r_p_ohm * (1.0 + params.tmr0 / one_x2)
    slope_ap = 1.0 / r_ap + 2.0 * params.r_p_ohm * params.tmr0 * x * x / (one_x2 * one_x2 * r_ap**2)
    is_ap = np.asarray(state) == AP
    r = np.where(is_ap, r_ap, params.r_p_ohm)
    slope = np.where(is_ap, slope_ap, 1.0 / params.r_p_ohm)
    return v / r, slope


def switching_time_s(
    v: ArrayLike,
    vc0_v: ArrayLike,
    delta: ArrayLike,
    tau0_s: ArrayLike,
    barrier_exponent: ArrayLike = 1.0,
    tau0_prec_s: ArrayLike = 0.0,
) -> np.ndarray:
    """Mean switching time at device voltage ``v``.

    Thermal activation over the barrier Delta (1 - |V|/Vc0)^n gives tau_th = tau0 exp(barrier),
    the bracket floored at 0: above the critical voltage there is no barrier left and tau_th
    stays at tau0 instead of falling without bound.

    With ``tau0_prec_s`` > 0, a precessional channel adds the rate (|V|/Vc0 - 1) / tau0_prec_s
    above Vc0 (the macrospin law: its own time diverges at Vc0 and falls as 1/(|V|/Vc0 - 1)),
    so tau = 1 / (1/tau_th + (|V|/Vc0 - 1)/tau0_prec_s). The rates add, rather than the
    precessional law replacing the thermal one above Vc0, because a replacement would jump from
    tau0 to an infinite time at Vc0 and make a pulse just above Vc0 switch less readily than one
    just below it; added rates are continuous at Vc0 (the precessional one is 0 there) and never
    fall as the voltage rises. Pulses much shorter than tau0 far above Vc0 then follow the
    precessional law, pulses longer than tau0 the thermal one.
    """
    delta, vc0_v, tau0_s = np.asarray(delta), np.asarray(vc0_v), np.asarray(tau0_s)
    n, tau0_prec_s = np.asarray(barrier_exponent), np.asarray(tau0_prec_s)
    ratio = np.abs(np.asarray(v)) / vc0_v
    # Written so that n = 1 gives bit for bit the linear law the model had before n existed.
    barrier = delta * np.maximum(1.0 - ratio, 0.0) ** n
    tau_th = tau0_s * np.exp(barrier)
    precesses = tau0_prec_s > 0.0
    rate_prec = np.where(
        precesses, np.maximum(ratio - 1.0, 0.0) / np.where(precesses, tau0_prec_s, 1.0), 0.0
    )
    # Where the precessional rate is 0 (below Vc0, or no precessional channel) tau is tau_th
    # exactly, not 1 / (1 / tau_th), which can differ in the last bit.
    return np.where(rate_prec > 0.0, tau_th / (1.0 + tau_th * rate_prec), tau_th)


def switching_probability(
    state: np.ndarray, v: ArrayLike, width_s: ArrayLike, params: MTJParams
) -> np.ndarray:
    """Probability that a pulse of amplitude ``v`` (at the device) and width ``width_s`` switches.

    P = 1 - exp(-t / tau) for the polarity that drives the device out of its present state
    (positive V for P -> AP, negative V for AP -> P) and exactly 0 for the other polarity, since
    that polarity only pushes the device further into the state it is in. ``tau`` is
    :func:`switching_time_s` with the device's own barrier exponent and precessional time.
    """
    v = np.asarray(v, dtype=float)
    is_ap = np.asarray(state) == AP
    vc0 = np.where(is_ap, params.vc0_ap_to_p_v, params.vc0_p_to_ap_v)
    tau = switching_time_s(
        v, vc0, params.delta, params.tau0_s, params.barrier_exponent, params.tau0_prec_s
    )
    p = -np.expm1(-np.asarray(width_s, dtype=float) / tau)
    drives_out = np.where(is_ap, v < 0.0, v > 0.0)
    return np.where(drives_out, p, 0.0)
