"""Instrument drivers: one role interface per instrument kind, one module per model."""
