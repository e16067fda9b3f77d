"""The Neel-Brown (thermal activation) fit of switching counts: the switching probability of a
pulse of amplitude V and width t, and its maximum-likelihood fit with standard errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from numpy.typing import ArrayLike

from mtjlab.core.checks import check_array, check_scalar, frozen_array

#: A fit has converged when the log-likelihood still to gain (the Newton decrement) is below
#: this: far below the 0.5 that moves a parameter by one standard error.
NEWTON_DECREMENT_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class ThermalFit:
    """Neel-Brown fit of switching counts: P(V, t) = 1 - exp(-(t / tau0) exp(-barrier)).

    The barrier is Delta (1 - abs(V) / Vc0), floored at 0 (above Vc0 the switching time is tau0).

    Attributes
    ----------
    vc0_v, vc0_err_v : float
        Critical voltage and its 1-sigma error.
    delta, delta_err : float
        Thermal stability factor and its 1-sigma error.
    covariance : ndarray, shape (2, 2)
        Covariance of (vc0_v, delta): the inverse of the observed Fisher information (the
        Hessian of the negative log-likelihood at the optimum). The two are strongly correlated.
    tau0_s : float
        Attempt time the fit assumed (not fitted).
    barrier_exponent : float
        Exponent n of the barrier Delta (1 - |V|/Vc0)^n the fit assumed (not fitted).
    converged : bool
        The optimizer reported success and the Hessian at the optimum is positive definite.
    neg_log_likelihood : float
        Binomial negative log-likelihood at the optimum (without the constant binomial terms).
    n_trials : int
        Trials the fit used.
    """

    vc0_v: float
    vc0_err_v: float
    delta: float
    delta_err: float
    covariance: np.ndarray
    tau0_s: float
    converged: bool
    neg_log_likelihood: float
    n_trials: int
    barrier_exponent: float = 1.0

    def probability(self, amplitudes_v: ArrayLike, width_s: ArrayLike) -> np.ndarray:
        """Fitted switching probability at ``amplitudes_v`` and ``width_s`` (broadcast)."""
        return thermal_switching_probability(
            amplitudes_v,
            width_s,
            vc0_v=self.vc0_v,
            delta=self.delta,
            tau0_s=self.tau0_s,
            barrier_exponent=self.barrier_exponent,
        )


def thermal_switching_probability(
    amplitudes_v: ArrayLike,
    width_s: ArrayLike,
    *,
    vc0_v: float,
    delta: float,
    tau0_s: float,
    barrier_exponent: float = 1.0,
) -> np.ndarray:
    """Neel-Brown switching probability 1 - exp(-(t / tau0) exp(-Delta (1 - |V|/Vc0)^n)), the
    barrier 0 from Vc0 up."""
    v = np.abs(np.asarray(amplitudes_v, dtype=float))
    barrier = delta * np.maximum(1.0 - v / vc0_v, 0.0) ** barrier_exponent
    rate = np.asarray(width_s, dtype=float) / tau0_s * np.exp(-barrier)
    return -np.expm1(-rate)


def fit_thermal_activation(
    amplitudes_v: ArrayLike,
    widths_s: ArrayLike,
    n_switched: ArrayLike,
    n_trials: ArrayLike,
    *,
    tau0_s: float = 1e-9,
    barrier_exponent: float = 1.0,
) -> ThermalFit:
    """Binomial maximum-likelihood fit of Vc0 and Delta to switching counts.

    Model: P(V, t) = 1 - exp(-(t / tau0) exp(-Delta (1 - |V| / Vc0)^n)), the barrier 0 from Vc0
    up, with ``tau0_s`` and the barrier exponent n fixed. Errors are the square roots of the
    diagonal of the inverse Hessian of the negative log-likelihood at the optimum.

    Parameters
    ----------
    amplitudes_v : array_like, shape (n_a,)
        Pulse amplitudes (their magnitude is used).
    widths_s : array_like, shape (n_w,)
        Pulse widths.
    n_switched, n_trials : array_like of int, shape (n_w, n_a)
        Switched and counted trials per (width, amplitude); points with no trials are ignored.
    tau0_s : float
        Attempt time.
    barrier_exponent : float
        n, 1 to 3: 1 in the simplest spin-torque picture, about 2 measured on many in-plane and
        perpendicular junctions (``docs/device-model.md``). Fitting with the wrong n biases
        Vc0 and Delta, however many trials.

    Raises
    ------
    ValueError
        Malformed inputs, or counts that cannot determine both parameters: fewer than two
        distinct amplitudes with a switching fraction strictly between 0 and 1 (with every
        point at 0 or at 1 the likelihood has no finite maximum), or switching that does not
        rise with amplitude.
    """
    v = np.abs(np.asarray(amplitudes_v, dtype=float))
    t = np.asarray(widths_s, dtype=float)
    for name, x, unit in (("amplitudes_v", v, "V (in magnitude)"), ("widths_s", t, "s")):
        if x.ndim != 1 or x.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array, got shape {x.shape}")
        check_array(x, name, low=0.0, low_open=True, unit=unit)
    check_scalar(tau0_s, "tau0_s", low=0.0, low_open=True, unit="s")
    m = check_scalar(barrier_exponent, "barrier_exponent", low=1, high=3, type_error=ValueError)
    k = np.asarray(n_switched)
    n = np.asarray(n_trials)
    shape = (t.size, v.size)
    for name, x in (("n_switched", k), ("n_trials", n)):
        if x.shape != shape:
            raise ValueError(
                f"{name} must have shape (len(widths_s), len(amplitudes_v)) = {shape}, "
                f"got {x.shape}"
            )
        if not (np.all(np.isfinite(x)) and np.all(x >= 0) and np.all(x == np.round(x))):
            raise ValueError(f"{name} must hold non-negative whole counts")
    if np.any(k > n):
        raise ValueError("n_switched exceeds n_trials at some point")
    vv, tt = np.broadcast_to(v, shape), np.broadcast_to(t[:, None], shape)
    used = n > 0
    vv, tt, k, n = vv[used], tt[used], k[used].astype(float), n[used].astype(float)
    if n.size == 0:
        raise ValueError("no trials to fit: n_trials is 0 everywhere")
    if np.all(k == 0):
        raise ValueError("no trial switched: the data bound Vc0 and Delta from one side only")
    if np.all(k == n):
        raise ValueError("every trial switched: the data bound Vc0 and Delta from one side only")
    middle = (k > 0) & (k < n)
    n_mid_amplitudes = np.unique(vv[middle]).size
    if n_mid_amplitudes < 2:
        raise ValueError(
            f"{n_mid_amplitudes} amplitude(s) switched with a probability strictly between 0 "
            "and 1; two are needed to determine both Vc0 and Delta (measure more amplitudes "
            "across the transition)"
        )

    log_rate0 = np.log(tt / tau0_s)
    x0 = _initial_guess(vv[middle], log_rate0[middle], k[middle], n[middle], m)

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(x)
        f, g, _ = _nll(theta, vv, log_rate0, k, n, m)
        return f, g * theta

    def hessian(x: np.ndarray) -> np.ndarray:
        # Log parameters keep Vc0 and Delta positive; chain rule for theta = exp(x).
        theta = np.exp(x)
        _, g, h = _nll(theta, vv, log_rate0, k, n, m)
        return h * np.outer(theta, theta) + np.diag(g * theta)

    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        res = scipy.optimize.minimize(
            objective, x0, jac=True, hess=hessian, method="trust-exact", options={"gtol": 1e-9}
        )
        theta, f, decrement = _polish(np.exp(res.x), vv, log_rate0, k, n, m)
        _, _, h = _nll(theta, vv, log_rate0, k, n, m)
    if not (np.all(np.isfinite(theta)) and np.isfinite(f) and np.all(np.isfinite(h))):
        raise ValueError("the fit diverged: the counts do not determine Vc0 and Delta")
    positive = bool(np.all(np.linalg.eigvalsh(h) > 0))
    covariance = np.linalg.inv(h) if positive else np.full((2, 2), np.nan)
    errors = np.sqrt(np.diag(covariance))
    return ThermalFit(
        vc0_v=float(theta[0]),
        vc0_err_v=float(errors[0]),
        delta=float(theta[1]),
        delta_err=float(errors[1]),
        covariance=frozen_array(covariance),
        tau0_s=float(tau0_s),
        converged=positive and decrement < NEWTON_DECREMENT_TOL,
        neg_log_likelihood=float(f),
        n_trials=int(n.sum()),
        barrier_exponent=m,
    )


def _initial_guess(
    v: np.ndarray, log_rate0: np.ndarray, k: np.ndarray, n: np.ndarray, m: float
) -> np.ndarray:
    """Start from a weighted line through the points with intermediate switching fractions.

    There the barrier b = log(t / tau0) - log(-log(1 - p)) = Delta (1 - |V| / Vc0)^n, so
    b^(1/n) = Delta^(1/n) (1 - |V| / Vc0) is a straight line in |V| that gives both parameters.
    """
    p = k / n
    barrier = np.maximum(log_rate0 - np.log(-np.log1p(-p)), 1e-6)
    z = barrier ** (1.0 / m)
    # Binomial weights: a point's barrier is best known near p = 1 - 1/e and with many trials;
    # carried over to z by its slope dz/db.
    lam = -np.log1p(-p)
    w = n * lam**2 * np.exp(-lam) / -np.expm1(-lam) / (z / (m * barrier)) ** 2
    slope, intercept = np.polyfit(v, z, 1, w=np.sqrt(w))
    if slope >= 0:
        raise ValueError(
            "switching does not rise with amplitude in these counts: no thermal-activation fit"
        )
    scale = max(intercept, 1.0)
    return np.log([-intercept / slope, scale**m])


def _polish(
    theta: np.ndarray,
    v: np.ndarray,
    log_rate0: np.ndarray,
    k: np.ndarray,
    n: np.ndarray,
    m: float,
) -> tuple[np.ndarray, float, float]:
    """A few damped Newton steps in (Vc0, Delta) from the optimizer's answer.

    The optimizer works in log parameters and may stop on its own tolerance a little short of
    the optimum; the Newton decrement g' H^-1 g / 2 (the log-likelihood still to gain) is what
    says whether the optimum was reached. Returns theta, the NLL there and that decrement.
    """
    f, g, h = _nll(theta, v, log_rate0, k, n, m)
    decrement = math.inf
    for iteration in range(6):
        if not (np.all(np.isfinite(h)) and np.all(np.linalg.eigvalsh(h) > 0)):
            decrement = math.inf
            break
        step = np.linalg.solve(h, g)
        decrement = 0.5 * float(g @ step)
        if decrement < NEWTON_DECREMENT_TOL or iteration == 5:
            break
        scale = 1.0
        while scale > 1e-3:
            trial = theta - scale * step
            if np.all(trial > 0):
                f_new, g_new, h_new = _nll(trial, v, log_rate0, k, n, m)
                if f_new <= f:
                    theta, f, g, h = trial, f_new, g_new, h_new
                    break
            scale /= 2
        else:
            break
    return theta, f, decrement


def _nll(
    theta: np.ndarray,
    v: np.ndarray,
    log_rate0: np.ndarray,
    k: np.ndarray,
    n: np.ndarray,
    m: float = 1.0,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Negative log-likelihood, its gradient and its Hessian in theta = (Vc0, Delta).

    With u = log(t / tau0) - Delta (1 - x)^m, x = |V| / Vc0, the rate is lam = e^u and each
    point contributes -k log(1 - e^-lam) + (n - k) lam; derivatives go through u, which is
    linear in Delta.
    """
    vc0, delta = theta
    x = v / vc0
    active = x < 1.0  # above Vc0 the floored barrier no longer depends on the parameters
    one_x = np.where(active, 1.0 - x, 1.0)  # 1 where inactive, so no power of 0 below
    u = np.maximum(log_rate0 - np.where(active, delta * one_x**m, 0.0), -700.0)
    lam = np.exp(u)
    log_p = np.where(lam < math.log(2), np.log(-np.expm1(-lam)), np.log1p(-np.exp(-lam)))
    f = float(np.sum(-k * log_p + (n - k) * lam))
    # lam e^-lam / (1 - e^-lam): 1 at small lam, 0 at large (below e^-690 from lam = 700 on)
    lq = lam / np.expm1(np.minimum(lam, 700.0))
    f_u = -k * lq + (n - k) * lam
    f_uu = f_u + k * lq * (lam + lq)
    # d u / d(Vc0, Delta), with dx/dVc0 = -x / Vc0
    du = np.where(active, [-delta * m * one_x ** (m - 1) * x / vc0, -(one_x**m)], 0.0)
    grad = du @ f_u
    hess = (du * f_uu) @ du.T
    # Second derivatives of u: d2u/dVc0^2 = -Delta m (1-x)^(m-2) x ((m-1) x - 2 (1-x)) / Vc0^2
    # (2 Delta x / Vc0^2 for m = 1) and d2u/dVc0 dDelta = -m (1-x)^(m-1) x / Vc0.
    d2 = -delta * m * one_x ** (m - 2) * x * ((m - 1) * x - 2 * one_x) / vc0**2
    hess[0, 0] += np.sum(f_u * np.where(active, d2, 0.0))
    cross = np.sum(f_u * np.where(active, -m * one_x ** (m - 1) * x / vc0, 0.0))
    hess[0, 1] += cross
    hess[1, 0] += cross
    return f, grad, hess


# -- parameter checks of this protocol only (the shared ones: mtjlab.core.checks) ------------
