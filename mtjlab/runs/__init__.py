"""Runs: the SQLite run store, the engine that measures, resumes and summarizes a run, and the
experiments it runs."""
