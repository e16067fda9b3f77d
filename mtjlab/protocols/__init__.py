"""Protocols: experiments written once against ArrayBackend, never against a driver or the simulator."""
