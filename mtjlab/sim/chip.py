"""The simulated die: several passive MTJ arrays of different device sizes, each device drawn from a
seeded distribution (variation and defects), with line resistance and read noise.

One seed gives one chip: :meth:`Chip.from_seed` draws every parameter from a single
``numpy.random.Generator``, so the same seed gives the same chip on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from mtjlab.core.checks import check_choice, check_scalar
from mtjlab.core.states import AP, P
from mtjlab.sim import device
from mtjlab.sim.device import DEFAULT_DEVICE, MTJParams

#: Defect codes held in ``MTJArray.defect``.
OK = 0
SHORTED = 1
OPEN = 2
STUCK_P = 3
STUCK_AP = 4
DEFECT_NAMES = {
    OK: "ok",
    SHORTED: "shorted",
    OPEN: "open",
    STUCK_P: "stuck-P",
    STUCK_AP: "stuck-AP",
}

INITIAL_STATES = ("P", "AP", "random")


@dataclass(frozen=True)
class ChipSpec:
    """What a die looks like; every default is documented with its source in docs/device-model.md.

    Device-to-device variation: R_P is lognormal (``sigma_r_p_log`` is the sigma of ln R_P);
    TMR0, Vc0 (both polarities), Delta, the breakdown voltage and the barrier exponent are normal
    with the given relative standard deviations.

    Named dies are in :data:`PRESETS`; :meth:`preset` or :func:`chip_spec` give one by name.
    """

    rows: int = 15
    cols: int = 15
    #: One entry per array on the die; device diameter sets R_P = RA / area.
    diameters_nm: tuple[float, ...] = (40.0, 50.0, 60.0, 70.0, 80.0)
    ra_ohm_um2: float = 10.0
    tmr0: float = DEFAULT_DEVICE["tmr0"]
    v_half_v: float = DEFAULT_DEVICE["v_half_v"]
    delta: float = DEFAULT_DEVICE["delta"]
    tau0_s: float = DEFAULT_DEVICE["tau0_s"]
    vc0_p_to_ap_v: float = DEFAULT_DEVICE["vc0_p_to_ap_v"]
    vc0_ap_to_p_v: float = DEFAULT_DEVICE["vc0_ap_to_p_v"]
    v_breakdown_v: float = DEFAULT_DEVICE["v_breakdown_v"]
    #: Exponent n of the barrier law Delta (1 - |V|/Vc0)^n; 1 is the linear spin-torque law.
    barrier_exponent: float = DEFAULT_DEVICE["barrier_exponent"]
    #: Precessional switching time above Vc0, tau_p = tau0_prec / (|V|/Vc0 - 1); 0 = none.
    tau0_prec_s: float = DEFAULT_DEVICE["tau0_prec_s"]
    sigma_r_p_log: float = 0.05
    sigma_tmr0_rel: float = 0.05
    sigma_vc0_rel: float = 0.05
    sigma_delta_rel: float = 0.05
    sigma_v_breakdown_rel: float = 0.03
    sigma_barrier_exponent_rel: float = 0.0
    p_shorted: float = 0.002
    p_open: float = 0.002
    p_stuck_p: float = 0.002
    p_stuck_ap: float = 0.002
    #: Device size as physics (docs/device-model.md, "Device size"); each default leaves the die as
    #: it was before these fields existed. Spread of each device's own diameter about its array's
    #: (edge roughness, lithography): R_P goes as 1 / d^2, so its relative spread grows as 1 / d.
    sigma_diameter_nm: float = 0.0
    #: Diameter below which Delta falls with the free layer's area, (d / d_nucleation)^2 (a
    #: single domain); at or above it reversal starts by nucleation and Delta does not depend on
    #: size. 0: Delta never depends on size.
    delta_nucleation_nm: float = 0.0
    #: Barrier pinholes per square micrometre of junction and edge shorts (sidewall redeposition)
    #: per micrometre of its perimeter: a device is shorted by either (Poisson), besides
    #: ``p_shorted``, so small devices short less through pinholes and more, relative to their
    #: area, at their edge.
    pinholes_per_um2: float = 0.0
    edge_shorts_per_um: float = 0.0
    #: Resistance of a shorted device, and of a device after barrier breakdown.
    r_short_ohm: float = 100.0
    #: Line resistance per segment (terminal to first crosspoint, and between crosspoints).
    r_row_ohm: float = 2.0
    r_col_ohm: float = 2.0
    #: Read noise: relative (to the current) and absolute standard deviations.
    read_noise_rel: float = 2e-3
    read_noise_floor_a: float = 1e-10
    initial_state: str = "random"

    def __post_init__(self) -> None:
        positive = (
            "rows",
            "cols",
            "ra_ohm_um2",
            "tmr0",
            "v_half_v",
            "delta",
            "tau0_s",
            "vc0_p_to_ap_v",
            "vc0_ap_to_p_v",
            "v_breakdown_v",
            "barrier_exponent",
            "r_short_ohm",
        )
        for name in positive:
            check_scalar(getattr(self, name), f"ChipSpec.{name}", low=0, low_open=True)
        non_negative = (
            "sigma_r_p_log",
            "sigma_tmr0_rel",
            "sigma_vc0_rel",
            "sigma_delta_rel",
            "sigma_v_breakdown_rel",
            "sigma_barrier_exponent_rel",
            "sigma_diameter_nm",
            "delta_nucleation_nm",
            "pinholes_per_um2",
            "edge_shorts_per_um",
            "tau0_prec_s",
            "r_row_ohm",
            "r_col_ohm",
            "read_noise_rel",
            "read_noise_floor_a",
        )
        for name in non_negative:
            check_scalar(getattr(self, name), f"ChipSpec.{name}", low=0)
        rates = ("p_shorted", "p_open", "p_stuck_p", "p_stuck_ap")
        for name in rates:
            check_scalar(
                getattr(self, name), f"ChipSpec.{name}", low=0, high=1, unit="(a probability)"
            )
        total = sum(getattr(self, name) for name in rates)
        if total > 1.0:
            raise ValueError(f"ChipSpec defect rates {rates} add up to {total}, more than 1")
        if not self.diameters_nm or any(not (d > 0) for d in self.diameters_nm):
            raise ValueError(
                f"ChipSpec.diameters_nm must list one diameter > 0 per array, "
                f"got {self.diameters_nm!r}"
            )
        check_choice("ChipSpec.initial_state", self.initial_state, INITIAL_STATES)

    @classmethod
    def preset(cls, name: str) -> ChipSpec:
        """The spec of the named die in :data:`PRESETS`; see :func:`chip_spec`."""
        return chip_spec(name)

    def nominal_r_p_ohm(self, diameter_nm: float) -> float:
        """R_P = RA / area of a circular device of the given diameter."""
        area_um2 = math.pi * (diameter_nm * 1e-3 / 2.0) ** 2
        return self.ra_ohm_um2 / area_um2

    def defect_rates(self, diameter_nm: float | None = None) -> tuple[float, float, float, float]:
        """Probabilities of (shorted, open, stuck-P, stuck-AP) for a device of ``diameter_nm``:
        ``p_shorted`` and a short by a pinhole (``pinholes_per_um2`` times the area) or at the
        edge (``edge_shorts_per_um`` times the perimeter), Poisson; the others do not depend on
        size. Without a diameter, or with no pinhole or edge density, the spec's own rates."""
        rates = (self.p_shorted, self.p_open, self.p_stuck_p, self.p_stuck_ap)
        if diameter_nm is None or (self.pinholes_per_um2 == 0 and self.edge_shorts_per_um == 0):
            return rates
        d_um = diameter_nm * 1e-3
        expected = self.pinholes_per_um2 * math.pi * d_um**2 / 4 + self.edge_shorts_per_um * (
            math.pi * d_um
        )
        # Shorted by p_shorted's cause or by a pinhole or edge short: 1 - (1 - p) exp(-expected).
        shorted = 1.0 - (1.0 - self.p_shorted) * math.exp(-expected)
        # The other classes keep their share of what is not shorted.
        rest = (1.0 - shorted) / (1.0 - self.p_shorted) if self.p_shorted < 1 else 0.0
        return (shorted, self.p_open * rest, self.p_stuck_p * rest, self.p_stuck_ap * rest)

    def delta_size_factor(self, diameter_nm: np.ndarray | float) -> np.ndarray:
        """How much of Delta a device of ``diameter_nm`` keeps: (d / delta_nucleation_nm)^2
        below the nucleation diameter, 1 at or above it (and always 1 when it is 0)."""
        d = np.asarray(diameter_nm, dtype=float)
        if self.delta_nucleation_nm == 0:
            return np.ones_like(d)
        return np.minimum(d / self.delta_nucleation_nm, 1.0) ** 2


@dataclass
class MTJArray:
    """One passive array: per-device parameters, defects and the present magnetic state.

    ``state`` is the only thing that changes during a simulation: pulses switch devices and
    breakdown turns a device into a permanent short (its ``defect`` becomes SHORTED).
    """

    params: MTJParams
    defect: np.ndarray
    state: np.ndarray
    diameter_nm: float
    r_short_ohm: float
    r_row_ohm: float
    r_col_ohm: float
    read_noise_rel: float
    read_noise_floor_a: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.state.shape  # type: ignore[return-value]

    def can_switch(self) -> np.ndarray:
        """Devices whose state a pulse can change (not shorted, open or stuck)."""
        return self.defect == OK

    def linear_conductance_s(self, v: np.ndarray | float = 0.0) -> np.ndarray:
        """Chord conductance I/V of every device at bias ``v`` (zero bias by default)."""
        g = 1.0 / device.resistance_ohm(self.state, v, self.params)
        g = np.where(self.defect == SHORTED, 1.0 / self.r_short_ohm, g)
        return np.where(self.defect == OPEN, 0.0, g)

    def current_and_slope(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Current and dI/dV of every device at device voltages ``v`` (batched on axis 0)."""
        i, g = device.current_and_slope(self.state, v, self.params)
        g_short = 1.0 / self.r_short_ohm
        shorted = self.defect == SHORTED
        opened = self.defect == OPEN
        i = np.where(shorted, v * g_short, np.where(opened, 0.0, i))
        g = np.where(shorted, g_short, np.where(opened, 0.0, g))
        return i, g

    def __repr__(self) -> str:
        # The dataclass repr prints every parameter array: a screenful for one array.
        return f"MTJArray({_array_summary(self, shape=True)})"


@dataclass
class Chip:
    """A die of passive MTJ arrays drawn from a :class:`ChipSpec` and a seed."""

    spec: ChipSpec
    seed: int
    arrays: list[MTJArray] = field(default_factory=list)

    @classmethod
    def from_seed(cls, seed: int, spec: ChipSpec | None = None) -> Chip:
        """Draw a chip; the same ``seed`` and ``spec`` give the same chip, every time."""
        seed = check_scalar(seed, "seed", kind=int, low=0, type_error=ValueError)
        spec = spec or ChipSpec()
        rng = np.random.default_rng(seed)
        arrays = [_draw_array(spec, d, rng) for d in spec.diameters_nm]
        # Parameters added after seeds were first handed out are drawn after every array, and only
        # when they vary: a spec that leaves them constant draws the chip it drew before they
        # existed, and one that varies them differs from it in them alone.
        if spec.sigma_barrier_exponent_rel > 0:
            for a in arrays:
                n = positive_normal(
                    rng, spec.barrier_exponent, spec.sigma_barrier_exponent_rel, a.shape
                )
                a.params = a.params.with_values(barrier_exponent=n)
        if spec.sigma_diameter_nm > 0 or spec.delta_nucleation_nm > 0:
            for a in arrays:
                _apply_size(spec, a, rng)
        return cls(spec=spec, seed=seed, arrays=arrays)

    def array(self, index: int) -> MTJArray:
        """Array ``index`` of the die, with a clear error when there is no such array."""
        n = len(self.arrays)
        diameters = list(self.spec.diameters_nm)
        index = check_scalar(
            index,
            "index",
            kind=int,
            low=0,
            high=n - 1,
            unit=f"(this chip has {n} arrays, diameters {diameters} nm)",
            range_error=IndexError,
        )
        return self.arrays[index]

    def describe(self) -> dict:
        """A JSON-friendly summary: the spec, the seed, and per-array counts."""
        summary = []
        for k, a in enumerate(self.arrays):
            counts = {name: int(np.sum(a.defect == code)) for code, name in DEFECT_NAMES.items()}
            summary.append(
                {
                    "index": k,
                    "diameter_nm": a.diameter_nm,
                    "median_r_p_ohm": float(np.median(a.params.r_p_ohm)),
                    "defects": counts,
                }
            )
        return {"seed": self.seed, "spec": asdict(self.spec), "arrays": summary}

    def __repr__(self) -> str:
        # What ``print(chip)`` needs to tell chips apart, on a line per array; the dataclass repr
        # would print every device parameter of every array.
        n, shapes = len(self.arrays), {a.shape for a in self.arrays}
        arrays = f"{n} array{'s' if n != 1 else ''}"
        same = len(shapes) == 1  # the usual die: its shape once, not on every line
        if same:
            arrays += f" of {'x'.join(map(str, shapes.pop()))}"
        lines = [f"Chip(seed={self.seed}, {_spec_text(self.spec)}, {arrays})"]
        lines += [
            f"  array {k}: {_array_summary(a, shape=not same)}" for k, a in enumerate(self.arrays)
        ]
        return "\n".join(lines)


def _array_summary(a: MTJArray, *, shape: bool) -> str:
    """One array in a line: device diameter, its shape if ``shape``, median R_P, defect cells by
    kind, and the states its cells hold."""
    defects = ", ".join(
        f"{int(np.sum(a.defect == code))} {name}" for code, name in DEFECT_NAMES.items() if code
    )
    n_ap = int(np.sum(a.state == AP))
    size = f"{a.diameter_nm:g} nm" + (f", {a.shape[0]}x{a.shape[1]}" if shape else "")
    r_p_kohm = float(np.median(a.params.r_p_ohm)) / 1e3
    return f"{size}, median R_P {r_p_kohm:.1f} kOhm, {defects}; {n_ap} AP / {a.state.size - n_ap} P"


def _spec_text(spec: ChipSpec, most: int = 4) -> str:
    """The preset ``spec`` is, or the preset it differs from in the fewest fields and those
    fields (at most ``most`` of them named)."""
    for name, preset in PRESETS.items():
        if spec == preset:
            return f"preset={name!r}"
    diffs = {
        name: [f.name for f in fields(spec) if getattr(spec, f.name) != getattr(preset, f.name)]
        for name, preset in PRESETS.items()
    }
    name = min(diffs, key=lambda n: len(diffs[n]))
    changed = [f"{k}={getattr(spec, k)!r}" for k in diffs[name][:most]]
    if len(diffs[name]) > most:
        changed.append(f"and {len(diffs[name]) - most} more")
    return f"custom spec: {name!r} with {', '.join(changed)}"


def defect_classes(spec: ChipSpec, u: np.ndarray, diameter_nm: float | None = None) -> np.ndarray:
    """Each device's defect class (OK, SHORTED, OPEN, STUCK_P, STUCK_AP) from a uniform draw
    ``u`` in [0, 1), at the spec's rates for devices of ``diameter_nm``
    (:meth:`ChipSpec.defect_rates`)."""
    rates = np.array(spec.defect_rates(diameter_nm))
    edges = np.cumsum(rates)
    return np.where(u < edges[-1], np.searchsorted(edges, u, side="right") + 1, OK)


def positive_normal(
    rng: np.random.Generator, mean: float, rel_sigma: float, shape: tuple[int, ...]
) -> np.ndarray:
    """A device parameter's spread: normal about ``mean``, floored at 5 % of it (a negative
    Delta, Vc0, TMR or exponent has no meaning)."""
    x = rng.normal(mean, rel_sigma * mean, size=shape)
    return np.maximum(x, 0.05 * mean)


def _draw_array(spec: ChipSpec, diameter_nm: float, rng: np.random.Generator) -> MTJArray:
    shape = (spec.rows, spec.cols)

    def normal(mean: float, rel_sigma: float) -> np.ndarray:
        return positive_normal(rng, mean, rel_sigma, shape)

    r_p = spec.nominal_r_p_ohm(diameter_nm) * rng.lognormal(0.0, spec.sigma_r_p_log, size=shape)
    params = MTJParams(
        r_p_ohm=r_p,
        tmr0=normal(spec.tmr0, spec.sigma_tmr0_rel),
        v_half_v=np.full(shape, spec.v_half_v),
        delta=normal(spec.delta, spec.sigma_delta_rel),
        tau0_s=np.full(shape, spec.tau0_s),
        vc0_p_to_ap_v=normal(spec.vc0_p_to_ap_v, spec.sigma_vc0_rel),
        vc0_ap_to_p_v=normal(spec.vc0_ap_to_p_v, spec.sigma_vc0_rel),
        v_breakdown_v=normal(spec.v_breakdown_v, spec.sigma_v_breakdown_rel),
        barrier_exponent=np.full(shape, spec.barrier_exponent),
        tau0_prec_s=np.full(shape, spec.tau0_prec_s),
    )
    defect = defect_classes(spec, rng.random(shape), diameter_nm)
    if spec.initial_state == "random":
        state = (rng.random(shape) < 0.5).astype(np.int8)
    else:
        state = np.full(shape, AP if spec.initial_state == "AP" else P, dtype=np.int8)
    state = np.where(defect == STUCK_P, P, np.where(defect == STUCK_AP, AP, state)).astype(np.int8)
    return MTJArray(
        params=params,
        defect=defect.astype(np.int8),
        state=state,
        diameter_nm=float(diameter_nm),
        r_short_ohm=spec.r_short_ohm,
        r_row_ohm=spec.r_row_ohm,
        r_col_ohm=spec.r_col_ohm,
        read_noise_rel=spec.read_noise_rel,
        read_noise_floor_a=spec.read_noise_floor_a,
    )


def device_diameters_nm(
    spec: ChipSpec, diameter_nm: float, rng: np.random.Generator, shape: tuple[int, ...]
) -> np.ndarray:
    """Each device's own diameter: normal about the array's with ``sigma_diameter_nm``, floored at
    half of it (a junction is never etched away)."""
    d = rng.normal(diameter_nm, spec.sigma_diameter_nm, size=shape)
    return np.maximum(d, 0.5 * diameter_nm)


def _apply_size(spec: ChipSpec, a: MTJArray, rng: np.random.Generator) -> None:
    """Give each device of ``a`` its own diameter: R_P as 1 / d^2 about the array's, Delta as
    :meth:`ChipSpec.delta_size_factor`. Drawn after every array, and only for a spec that uses
    them, so that one without them draws the chip it drew before they existed."""
    if spec.sigma_diameter_nm > 0:
        d = device_diameters_nm(spec, a.diameter_nm, rng, a.shape)
    else:
        d = np.full(a.shape, a.diameter_nm)
    a.params = a.params.with_values(
        r_p_ohm=a.params.r_p_ohm * (a.diameter_nm / d) ** 2,
        delta=a.params.delta * spec.delta_size_factor(d),
    )


#: Named dies (values and reasons in docs/device-model.md).
#:
#: - ``kind``: the built-in die of every command but ``reproduce`` (named ``default`` until
#:   ``sized`` became reproduce's default; that name still means it); write-verify gets
#:   99.1-100 % of a random pattern right, losing only its few defects.
#: - ``ideal``: the device physics alone, every device of an array the nominal device, with no
#:   defects, line resistance or read noise.
#: - ``reference``: a die closer to a real bench: a wider critical-voltage spread, an n = 2
#:   barrier, a precessional regime, 0.5 % of each defect. So wide that it has no write window
#:   inside its disturb envelope: it is written outside it (``--allow-disturb``), with ramps of
#:   0.65,0.05,0.75 V and 0.50,0.05,0.55 V (:data:`PRESET_RAMPS_V`). A single 100 ns pulse at
#:   their start fails on some devices, their tops leave a few unswitched, half-selected
#:   neighbours flip now and then, and write-verify gets 95 to 100 % of a random pattern right
#:   (98 % on average over seeds 0 to 7).
#: - ``sized``: the kind die with device size as physics (a diameter spread, pinhole and edge
#:   shorts, Delta's nucleation diameter) and lines of 4 Ohm a segment; written inside its
#:   disturb envelope with the default ramps, it loses accuracy that tuning recovers in part.
PRESETS: dict[str, ChipSpec] = {
    "kind": ChipSpec(),
    "ideal": ChipSpec(
        sigma_r_p_log=0.0,
        sigma_tmr0_rel=0.0,
        sigma_vc0_rel=0.0,
        sigma_delta_rel=0.0,
        sigma_v_breakdown_rel=0.0,
        p_shorted=0.0,
        p_open=0.0,
        p_stuck_p=0.0,
        p_stuck_ap=0.0,
        r_row_ohm=0.0,
        r_col_ohm=0.0,
        read_noise_rel=0.0,
        read_noise_floor_a=0.0,
    ),
    "reference": ChipSpec(
        # n = 2 lowers the barrier at every bias below Vc0; a larger Delta and Vc0 than the default
        # keep the reads at 0.1 V and its 100 ns writes at 0.65 V / 0.50 V working.
        barrier_exponent=2.0,
        delta=80.0,
        vc0_p_to_ap_v=0.74,
        vc0_ap_to_p_v=0.53,
        # The spread puts some devices' switching above its ramps' start (failed first pulses)
        # or top (failed writes), and others' near the half-select voltage (disturb).
        sigma_vc0_rel=0.12,
        tau0_prec_s=3e-9,
        p_shorted=0.005,
        p_open=0.005,
        p_stuck_p=0.005,
        p_stuck_ap=0.005,
    ),
    "sized": ChipSpec(
        # Device size as physics (docs/device-model.md, "Device size"): each device's own
        # diameter spread by 2 nm, so R_P spreads 10 % at 40 nm and 5 % at 80 nm (RA itself 3 %);
        # Delta constant above a 30 nm nucleation diameter; shorts from pinholes (area) and the
        # etched edge (perimeter) instead of one rate.
        sigma_diameter_nm=2.0,
        sigma_r_p_log=0.03,
        delta_nucleation_nm=30.0,
        p_shorted=0.0,
        pinholes_per_um2=0.25,
        edge_shorts_per_um=0.01,
        # Lines of 4 Ohm a segment: the 80 nm devices (2 kOhm) then lose several per cent of a
        # read or a write to them, the 40 nm ones (8 kOhm) a quarter of that; a gain and offset
        # per unit win most of it back, where shorts cost weights nothing wins back.
        r_row_ohm=4.0,
        r_col_ohm=4.0,
    ),
}


#: The write ramps (start, step, stop in volts; P -> AP, then AP -> P) of the presets whose
#: write window is not the default ramps': ``reproduce`` writes such a die with them unless told
#: otherwise. Going outside a die's disturb envelope still has to be asked for.
PRESET_RAMPS_V: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "reference": ((0.65, 0.05, 0.75), (0.50, 0.05, 0.55)),
}


#: Other names of presets: ``default`` is what the kind die was called until ``sized`` became
#: the default of ``reproduce``; runs stored and bench files written before say it.
PRESET_ALIASES: dict[str, str] = {"default": "kind"}

#: The die ``mtjlab reproduce`` runs on unless told otherwise, and that of the other commands'
#: built-in bench.
REPRODUCE_PRESET = "sized"
BUILT_IN_PRESET = "kind"


def chip_spec(name: str, changes: Mapping[str, Any] | None = None) -> ChipSpec:
    """The :class:`ChipSpec` of preset ``name`` (or of its alias, :data:`PRESET_ALIASES`) with
    some of its fields ``changes``d.

    An unknown preset or field is a ValueError naming the known ones. Lists stand for tuples
    (``diameters_nm``), as JSON gives them back.
    """
    try:
        spec = PRESETS[PRESET_ALIASES.get(name, name)]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown chip preset {name!r}; expected one of {sorted(PRESETS)}"
        ) from None
    if not changes:
        return spec
    known = {f.name for f in fields(spec)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValueError(f"unknown chip field(s) {unknown}; known: {sorted(known)}")
    return replace(spec, **{k: _as_field(k, v, getattr(spec, k)) for k, v in changes.items()})


def _as_field(name: str, value: Any, current: Any) -> Any:
    """``value`` as field ``name`` holds it (like the preset's ``current``), or a ValueError:
    a count is a whole number, a list is a list of numbers, text is text."""
    if isinstance(current, tuple):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ValueError(f"chip field {name}={value!r}: expected a list of numbers")
        return tuple(value)
    if isinstance(current, str):
        if not isinstance(value, str):
            raise ValueError(f"chip field {name}={value!r}: expected text")
        return value
    number = check_scalar(value, f"chip field {name}", type_error=ValueError)
    if isinstance(current, int) and not isinstance(current, bool):
        if not float(number).is_integer():
            raise ValueError(f"chip field {name}={value!r}: expected a whole number")
        return int(number)
    return value  # a number, as given (so a refusal further on quotes what was given)
