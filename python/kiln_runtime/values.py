"""Non-DataFrame outputs as JSON, the way Mage writes data.json (simplejson with
encode_complex and ignore_nan, mage_ai/shared/parsers.py): datetimes as ISO strings, numpy
scalars as Python numbers, sets and tuples as lists, NaN as null, DataFrames as records."""

import datetime
import decimal
import math


def to_jsonable(value):
    try:
        import numpy as np
        import pandas as pd
    except ImportError:  # pragma: no cover - the host always has them
        np = pd = None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if np is not None:
        if isinstance(value, np.generic):
            return to_jsonable(value.item())
        if isinstance(value, np.ndarray):
            return [to_jsonable(v) for v in value.tolist()]
        if isinstance(value, pd.DataFrame):
            return [to_jsonable(r) for r in value.to_dict("records")]
        if isinstance(value, pd.Series):
            return [to_jsonable(v) for v in value.tolist()]
        if isinstance(value, pd.Timestamp):
            return None if pd.isna(value) else value.isoformat()
        if value is pd.NaT or value is pd.NA:
            return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
