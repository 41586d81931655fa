"""The bridge from mage_ai to Kiln's runner, imported lazily so that block files can still be
imported (and linted) outside a Kiln run."""


def current():
    """The running block's session with the runner (kiln_runtime.channel.Session)."""
    from kiln_runtime.channel import current as _current

    return _current()


def frame_value(result, fds):
    """A reply holding a frame (a DataFrame) or a JSON value."""
    import _kiln

    if result.get("kind") == "frame":
        try:
            return _kiln.frame_to_dataframe(fds[0])
        finally:
            _kiln.close_fd(fds[0])
    return result.get("value")


def dataframe_fd(df):
    """A DataFrame as a frame's file descriptor (the caller closes it with close_fd)."""
    import _kiln

    return _kiln.dataframe_to_frame(df)


def close_fd(fd):
    import _kiln

    _kiln.close_fd(fd)
