"""Safety limits derived from a simulated chip's own devices: the read bias that disturbs no device,
the pulse that breaks none down, what a write may put on the devices it does not select. The
default envelope of every SimulatedBackend.
"""

from __future__ import annotations

import math

import numpy as np

from mtjlab.core.limits import Limits
from mtjlab.core.states import AP, P
from mtjlab.sim import device
from mtjlab.sim.chip import OK, SHORTED, Chip

#: A read may switch, summed over every device of an array held at the full read bias for one read
#: time, at most this many devices: one flip in a million reads, about one in several 300-solution
#: campaigns, each of which reads the array some 10^5 times.
READ_DISTURB_PER_READ = 1e-6

#: A write pulse may switch, summed over every device it does not select, at most this many
#: devices (half for each polarity of the voltage it puts on them): one disturbed device in ten
#: thousand pulses. A 300-solution reproduce run gives about 28,000 pulses, so it expects at most
#: three disturbed devices in all, each seen by the verify read that follows its pulse; the
#: budget is a hundred times the read's because a write is meant to change the array and is
#: checked afterwards, a read is not.
DISTURB_PER_PULSE = 1e-4

#: Pulse widths at which the disturb envelope is stated: every decade from 1 ns to 1 ms.
DISTURB_WIDTHS_S = (1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3)

#: Pulses may reach this fraction of the lowest breakdown voltage on the die.
BREAKDOWN_MARGIN = 0.9

MIN_WIDTH_S = 1e-9
MAX_WIDTH_S = 1e-3


def read_disturb_per_read(chip: Chip, v_read_v: float, read_time_s: float) -> float:
    """Expected switched devices per read in the worst array, every switchable device at ``v``.

    Each device is taken in the state the polarity of ``v_read_v`` switches it out of (P for a
    positive read, AP for a negative one), the worst case for any pattern.
    """
    worst = 0.0
    for a in chip.arrays:
        state = np.full(a.shape, P if v_read_v > 0 else AP)
        p = device.switching_probability(state, v_read_v, read_time_s, a.params)
        worst = max(worst, float(np.sum(p[a.defect == OK])))
    return worst


def disturb_envelope(
    chip: Chip, widths_s=DISTURB_WIDTHS_S, budget: float = DISTURB_PER_PULSE
) -> tuple[tuple[float, float, float], ...]:
    """Per width, the largest positive and negative voltage (rounded down to 1 mV) that may be put
    on the devices a pulse does not select: at that voltage, every working device of the worst
    array held there for the pulse's width, each in the state that polarity switches it out of
    (P for positive, AP for negative: the worst case for any pattern), switches ``budget / 2``
    devices in expectation. Every unselected device counted at the largest voltage of its
    polarity bounds any scheme, however many devices it half-selects."""
    widths = np.asarray(widths_s, dtype=float)
    bounds = []
    for polarity, state in ((1, P), (-1, AP)):
        lo, hi = np.zeros(widths.size), np.full(widths.size, 2.0 * BREAKDOWN_MARGIN)
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            switched = np.zeros(widths.size)
            for a in chip.arrays:
                p = device.switching_probability(
                    np.full((widths.size, *a.shape), state),
                    polarity * mid[:, None, None],
                    widths[:, None, None],
                    a.params,
                )
                switched = np.maximum(switched, np.sum(p, axis=(1, 2), where=a.defect == OK))
            fits = switched <= budget / 2
            lo, hi = np.where(fits, mid, lo), np.where(fits, hi, mid)
        bounds.append(np.floor(lo * 1e3) / 1e3)
    return tuple(
        (float(w), float(pos), float(neg)) for w, pos, neg in zip(widths, *bounds, strict=True)
    )


def chip_limits(chip: Chip, *, read_time_s: float = 1e-3) -> Limits:
    """The default safety envelope of ``chip`` read with reads of ``read_time_s``.

    - ``max_read_v``: the largest bias, either polarity, at which a read disturbs at most
      :data:`READ_DISTURB_PER_READ` devices per read (rounded down to 1 mV). Every device voltage of
      a read lies between 0 and the read bias (a resistive network has no node outside its sources),
      so this holds for maps in any bias and for batches of inference inputs.
    - ``max_write_v`` and ``max_device_v``: :data:`BREAKDOWN_MARGIN` of the lowest breakdown voltage
      of a working device on the die (rounded down to 10 mV): a pulse may switch a device, never
      break one down.
    - pulse widths 1 ns (the model's attempt time; no supported generator is faster) to 1 ms.
    - ``max_unselected_v``: :func:`disturb_envelope`, at most ``max_write_v``: a write may put
      on the devices it does not select what switches :data:`DISTURB_PER_PULSE` of them per pulse.
    - ``compliance_a``: three times the largest column current at the read limit with every row
      driven and every device of the array in its lowest-resistance state, rounded up to 0.1 mA.
    """

    def disturb(v: float) -> float:
        return max(
            read_disturb_per_read(chip, v, read_time_s),
            read_disturb_per_read(chip, -v, read_time_s),
        )

    lo, hi = 0.0, float(max(np.max(a.params.vc0_p_to_ap_v) for a in chip.arrays))
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if disturb(mid) <= READ_DISTURB_PER_READ else (lo, mid)
    max_read_v = math.floor(lo * 1e3) / 1e3

    v_bd = min(float(np.min(a.params.v_breakdown_v[a.defect != SHORTED])) for a in chip.arrays)
    max_device_v = math.floor(BREAKDOWN_MARGIN * v_bd * 100) / 100

    column_a = 0.0
    for a in chip.arrays:
        r_min = np.where(a.defect == SHORTED, a.r_short_ohm, a.params.r_p_ohm)
        column_a = max(column_a, float(np.max(np.sum(max_read_v / r_min, axis=0))))
    compliance_a = math.ceil(3 * column_a * 1e4) / 1e4

    envelope = tuple(
        (w, min(pos, max_device_v), min(neg, max_device_v))
        for w, pos, neg in disturb_envelope(chip)
    )

    reasons = {
        "max_read_v": (
            f"derived from the chip: a read of {read_time_s:g} s disturbs at most "
            f"{READ_DISTURB_PER_READ:g} devices per read at this bias"
        ),
        "max_write_v": (
            f"derived from the chip: {BREAKDOWN_MARGIN:g} of its lowest breakdown voltage "
            f"{v_bd:.3f} V"
        ),
        "max_device_v": (
            f"derived from the chip: {BREAKDOWN_MARGIN:g} of its lowest breakdown voltage "
            f"{v_bd:.3f} V"
        ),
        "max_unselected_v": (
            f"derived from the chip: a pulse disturbs at most {DISTURB_PER_PULSE:g} devices it "
            "does not select"
        ),
        "min_width_s": "the device model's attempt time; no supported generator is faster",
        "max_width_s": "longer pulses are DC stress, not writes",
        "compliance_a": (
            "three times the largest column current at the read limit, every row driven and "
            "every device in its lowest-resistance state"
        ),
    }
    return Limits(
        max_read_v=max_read_v,
        max_write_v=max_device_v,
        min_width_s=MIN_WIDTH_S,
        max_width_s=MAX_WIDTH_S,
        compliance_a=compliance_a,
        max_device_v=max_device_v,
        max_unselected_v=envelope,
        reasons=reasons,
    )
