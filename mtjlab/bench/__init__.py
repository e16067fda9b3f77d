"""A bench in use: its file, its drivers connected, InstrumentBackend and the emulated bench."""
