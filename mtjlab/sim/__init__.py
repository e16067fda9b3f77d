"""The simulated bench: MTJ device model, simulated chip, crossbar circuit solver, SimulatedBackend."""
