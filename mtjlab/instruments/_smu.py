"""What the source-meter drivers share: the confirmed setup :meth:`enable_output` needs (withdrawn
on any failure and by the safe state), the voltage limit a configuration sets, and their checks.

A driver keeps its property table and the commands of each role method; this mixin keeps the
bookkeeping around them, so that the rule of :class:`~mtjlab.instruments.roles.SourceMeter` is
written once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from pymeasure.instruments import Instrument

from mtjlab.core.checks import check_scalar

from ._errors import _ErrorQueue
from .roles import SourceMeter

#: What :meth:`ConfirmedSource.enable_output` needs confirmed, in the order they are set up
#: (a new configuration needs a new level), and how a refusal names each.
NEEDED = {
    "configuration": "configure_voltage_source() completing and reading back its settings",
    "level": "set_voltage() completing and reading back the level",
}


class ConfirmedSource(_ErrorQueue, SourceMeter):
    """A :class:`~mtjlab.instruments.roles.SourceMeter` whose output goes on only after this
    session's configuration and level were set and read back.

    A driver declares its bounds (:attr:`max_voltage_v`, :attr:`current_limit_range_a`,
    :attr:`nplc_range`) and the commands: what configuring sends and reads back
    (:meth:`_configure_voltage_source`), how the output goes on and off (:meth:`_set_output`),
    how the level is set and read (:meth:`_set_level`, :attr:`level_query`) and the steps of
    its safe state (:meth:`_safe_steps`). A sweep, which leaves the level at 0 V, runs inside
    ``with self._withdrawing("level")``.
    """

    #: Largest voltage the model sources, in V.
    max_voltage_v: float
    #: Lowest and highest current limit (compliance) the model takes, in A.
    current_limit_range_a: tuple[float, float]
    #: Shortest and longest integration time, in power-line cycles.
    nplc_range: tuple[float, float]
    #: Where the bounds come from, added to the unit in a refusal (e.g. " on the 2636B").
    bounds_origin = ""
    #: The query that reads the source level back, in V.
    level_query: str

    #: The steps of :data:`NEEDED` confirmed so far (immutable and replaced, never shared).
    _confirmed: frozenset[str] = frozenset()
    #: The ``voltage_limit_v`` of the last configuration; None means the model's maximum.
    _voltage_limit_v: float | None = None

    # --- what a driver says about its instrument

    def _configure_voltage_source(self, compliance_a: float, nplc: float, limit_v: float) -> None:
        """Send the settings of :meth:`configure_voltage_source`, already checked, and read
        them back."""
        raise NotImplementedError

    def _set_output(self, on: bool) -> None:
        """Send the command that turns the output on or off."""
        raise NotImplementedError

    def _set_level(self, voltage_v: float) -> None:
        """Send the command that sets the source level."""
        raise NotImplementedError

    def _safe_steps(self) -> list[tuple[str, Callable[[], object]]]:
        """The ``(label, step)`` pairs of :meth:`safe_state`, in order."""
        raise NotImplementedError

    # --- the confirmation

    @contextmanager
    def _withdrawing(self, *steps: str) -> Iterator[None]:
        """Withdraw the confirmation of ``steps`` now, and all of it if the block fails."""
        self._confirmed = self._confirmed.difference(steps)
        try:
            yield
        except BaseException:
            self._confirmed = frozenset()
            raise

    @contextmanager
    def _confirming(self, step: str) -> Iterator[None]:
        """Confirm ``step`` (a key of :data:`NEEDED`) if the block completes. On entry ``step``
        and every step set up after it are withdrawn; if the block fails, everything is."""
        order = list(NEEDED)
        with self._withdrawing(*order[order.index(step) :]):
            yield
        self._confirmed = self._confirmed.union([step])

    def configure_voltage_source(
        self, compliance_current_a: float, nplc: float, voltage_limit_v: float | None = None
    ) -> None:
        with self._confirming("configuration"):
            self._configure_voltage_source(
                *self._check_configuration(compliance_current_a, nplc, voltage_limit_v)
            )

    def enable_output(self) -> None:
        missing = [why for what, why in NEEDED.items() if what not in self._confirmed]
        if missing:
            raise self._failure("output not turned on; it needs " + " and ".join(missing))
        with self._withdrawing():
            self._set_output(True)
            self.check_errors()

    def disable_output(self) -> None:
        self._set_output(False)
        self.check_errors()

    def set_voltage(self, voltage_v: float) -> None:
        with self._confirming("level"):
            voltage = self._check_voltage(voltage_v)
            self._set_level(voltage)
            self.check_errors()
            self._confirm_number("source level", self.level_query, voltage, "V", abs_tol=1e-6)

    def safe_state(self) -> None:
        """Withdraw the confirmation and run every step of :meth:`_safe_steps`, each tried even
        if an earlier one fails (see :meth:`run_every_step`)."""
        self._confirmed = frozenset()
        self.run_every_step(self._safe_steps())

    def shutdown(self) -> None:
        """Go to the safe state (also on leaving a ``with`` block)."""
        self.safe_state()
        Instrument.shutdown(self)

    # --- checks before a byte is sent

    def _check_configuration(
        self, compliance_current_a: float, nplc: float, voltage_limit_v: float | None
    ) -> tuple[float, float, float]:
        """Return the compliance (A), the integration time and the voltage limit (V, the
        model's maximum if None) if the model takes them, and from now on refuse levels beyond
        that limit; raise before anything is sent otherwise."""
        low, high = self.current_limit_range_a
        compliance = check_scalar(
            compliance_current_a,
            "compliance_current_a",
            low=low,
            high=high,
            unit="A" + self.bounds_origin,
        )
        low, high = self.nplc_range
        nplc = check_scalar(nplc, "nplc", low=low, high=high, unit="power-line cycles")
        if voltage_limit_v is None:
            limit_v = self.max_voltage_v
        else:
            limit_v = check_scalar(
                voltage_limit_v,
                "voltage_limit_v",
                low=0.0,
                high=self.max_voltage_v,
                unit="V" + self.bounds_origin,
            )
        self._voltage_limit_v = limit_v
        return compliance, nplc, limit_v

    def _voltage_limit(self) -> float:
        return self.max_voltage_v if self._voltage_limit_v is None else self._voltage_limit_v

    def _check_voltage(self, voltage_v: float) -> float:
        limit = self._voltage_limit()
        # say where the bound comes from: the model, or the limit configure_voltage_source set
        origin = self.bounds_origin if limit == self.max_voltage_v else " (voltage_limit_v)"
        return check_scalar(voltage_v, "voltage_v", low=-limit, high=limit, unit="V" + origin)

    def _check_voltages(self, voltages_v: Sequence[float]) -> list[float]:
        """The list as floats if it has 1 to ``max_list_points`` voltages, each within the
        voltage limit; raise naming the count or the offending element otherwise."""
        values, limit = list(voltages_v), self._voltage_limit()
        if not 1 <= len(values) <= self.max_list_points:
            raise ValueError(
                f"voltages_v has {len(values)} points; allowed: 1 to {self.max_list_points}"
            )
        return [
            check_scalar(v, f"voltages_v[{i}]", low=-limit, high=limit, unit="V")
            for i, v in enumerate(values)
        ]

    def _require_output_on(self, what: str, query: str, why: str = "") -> None:
        """Refuse ``what`` unless ``query`` reads the output state back as on (1)."""
        reply = self.ask(query).strip()
        try:
            state = float(reply)
        except ValueError:
            state = math.nan
        if state not in (0.0, 1.0):
            raise self._failure(f"output state unreadable: {query!r} answered {reply!r}")
        if state == 0.0:
            raise self._failure(
                f"{what} refused: the output is off{why}; call enable_output() first"
            )
