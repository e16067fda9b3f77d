"""The codes the write pulse's kernel and its caller share (`mtjlab.sim._pulse_compiled`,
`mtjlab.sim._pulse_kernel`), in a module of their own so that neither imports the other's."""

#: Kernel outcomes (the first value `pulse_voltages` returns).
CONVERGED = 0
NOT_CONVERGED = 1
NOT_POSITIVE_DEFINITE = 2

# Device kinds for the law (`device_kinds`): the MTJ's two states, and the two defects whose law
# is not the MTJ's (`MTJArray.current_and_slope`).
KIND_P = 0
KIND_AP = 1
KIND_SHORTED = 2
KIND_OPEN = 3
