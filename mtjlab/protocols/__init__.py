"""Protocols: experiments written once against ArrayBackend, never a driver or the simulator."""
