"""pyarrow.Table in Kiln's stand-in: a pandas DataFrame kept as it is (no copy, no Arrow
buffers). The runner receives it as a frame, where a non-default index already becomes the
columns pyarrow names it with (its level names, else __index_level_<i>__)."""


def _index_columns(df):
    """The column names pyarrow (and Kiln's frames) give the index of `df`; [] for the
    default RangeIndex, which pyarrow stores as metadata only."""
    import pandas as pd

    idx = df.index
    if (isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1
            and idx.name is None):
        return []
    taken = set(str(c) for c in df.columns)
    names = []
    for i, level in enumerate(idx.names):
        name = "" if level is None else str(level)
        if not name or name in taken:
            name = "__index_level_%d__" % i
        taken.add(name)
        names.append(name)
    return names


class Table:
    """Rows and columns to write with pyarrow.parquet; made by Table.from_pandas."""

    def __init__(self, df):
        self._df = df

    @classmethod
    def from_pandas(cls, df, schema=None, preserve_index=None, nthreads=None, columns=None,
                    safe=True):
        """`df` as a Table. As pyarrow: a default RangeIndex is left out, any other index is
        kept as columns (`__index_level_0__` when unnamed); preserve_index=False drops it,
        True keeps even a RangeIndex. `schema` is not supported (TypeError)."""
        import pandas as pd

        if schema is not None:
            raise TypeError("Table.from_pandas(schema=...) is not supported by Kiln's pyarrow "
                            "stand-in: cast the DataFrame's columns with pandas first")
        if columns is not None:
            df = df[list(columns)]
        if preserve_index is False:
            df = df.reset_index(drop=True)
        elif preserve_index is True and not _index_columns(df):
            df = df.set_axis(pd.Index(df.index.to_numpy(), name=df.index.name), axis=0)
        return cls(df)

    @property
    def num_rows(self):
        return len(self._df)

    @property
    def column_names(self):
        return [str(c) for c in self._df.columns] + _index_columns(self._df)

    @property
    def num_columns(self):
        return len(self.column_names)

    @property
    def shape(self):
        return (self.num_rows, self.num_columns)

    def __len__(self):
        return self.num_rows

    def to_pandas(self, **kwargs):
        """The DataFrame (the one given to from_pandas, or the one read)."""
        return self._df

    def __repr__(self):
        return "pyarrow.Table (Kiln stand-in)\n%d rows: %s" % (self.num_rows,
                                                             ", ".join(self.column_names))
