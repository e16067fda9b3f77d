"""A run's dataset as a NetCDF3 file: what each type becomes in a format without int64, bool or
text arrays, and a file written whole or not at all (``mtjlab runs export --format netcdf``)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import xarray as xr

from mtjlab.runs.datasets import INT32, TIME_DTYPE


def netcdf3_compatible(dataset: xr.Dataset) -> xr.Dataset:
    """A new dataset: ``dataset`` as a NetCDF3 file holds it, what :func:`write_netcdf` writes.

    Variables: int64 becomes int32 where the values fit (float64 otherwise); bool becomes int8
    0/1 with ``flag_values``/``flag_meanings`` and a ``comment``; numpy text becomes object
    arrays of str; times become datetime64[ns], written as float64 milliseconds since the UTC
    midnight before the earliest (exact to the millisecond; NaN for NaT). Attributes are kept:
    :func:`run_dataset` makes them as NetCDF3 keeps them.
    """

    def variable(var: xr.Variable) -> xr.Variable:
        data, attrs = var.values, dict(var.attrs)
        if data.dtype.kind == "M":
            # NetCDF3 has no int64, and float64 milliseconds since 1970 decode to nanoseconds
            # off by rounding; counted from a nearby midnight they stay exact (below 2**53 ns).
            data = data.astype(TIME_DTYPE)
            known = data[~np.isnat(data)]
            day = known.min().astype("datetime64[D]") if known.size else np.datetime64(0, "D")
            units = f"milliseconds since {day}T00:00:00+00:00"
            attrs.pop("units", None)  # the encoding's, in the file
            return xr.Variable(var.dims, data, attrs, {"units": units, "dtype": "float64"})
        if data.dtype == bool:
            data = data.astype(np.int8)
            attrs |= {"flag_values": np.array([0, 1], np.int8), "flag_meanings": "false true"}
            attrs["comment"] = "bool stored as int8 (NetCDF3 has no bool)"
        elif data.dtype.kind in "iu" and data.dtype.itemsize >= 4 and data.dtype != np.int32:
            fits = data.size == 0 or (INT32.min <= data.min() and data.max() <= INT32.max)
            data = data.astype(np.int32 if fits else np.float64)
            attrs |= {} if fits else {"comment": "integers beyond int32 stored as float64"}
        elif data.dtype.kind == "U":
            data = data.astype(object)
        return xr.Variable(var.dims, data, attrs)

    coords = {k: variable(v.variable) for k, v in dataset.coords.items()}
    data_vars = {k: variable(v.variable) for k, v in dataset.data_vars.items()}
    return xr.Dataset(data_vars, coords, dataset.attrs)


def write_netcdf(dataset: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``dataset`` to ``path`` as NetCDF3 with xarray's scipy engine, whole or not at all.

    ``xarray.open_dataset(path)`` gives back :func:`netcdf3_compatible` of the dataset (same
    variables, dimensions, attributes, units; text as str). Returns the path written.
    """
    out = Path(path)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        netcdf3_compatible(dataset).to_netcdf(tmp, engine="scipy", format="NETCDF3_64BIT")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
