"""The ``mtjlab`` command: a thin shell over the experiments and the run store."""
