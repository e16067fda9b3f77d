"""Emulated bench instruments: each speaks one driver model's wire protocol and acts on a
simulated chip through the bench's switch matrix, on a virtual clock, with injectable faults.

An emulator never imports the driver it stands behind: it knows the protocol from the manual, so a
test of the driver against it checks the driver, not a copy of it.
"""
