"""Block outputs and pipeline variables of a project (Mage's variable_manager)."""

from mage_ai.shared.kiln import current, frame_value


def _value(result, fds):
    return frame_value(result, fds)


def get_variable(pipeline_uuid, block_uuid, variable_name="output_0", partition=None,
                 variable_type=None, spark=None, **kwargs):
    """The stored output `variable_name` (output_0, output_1, ...) of a block of a pipeline, as
    the block's latest run left it: a DataFrame, or the JSON value."""
    result, fds = current().call("variables.get", {
        "pipeline_uuid": pipeline_uuid, "block_uuid": block_uuid,
        "variable_name": variable_name, "partition": partition})
    return _value(result, fds)


def get_global_variable(pipeline_uuid, key, **kwargs):
    result, _ = current().call("variables.get_global", {"pipeline_uuid": pipeline_uuid, "key": key})
    return result.get("value")


def get_global_variables(pipeline_uuid, **kwargs):
    result, _ = current().call("variables.get_global", {"pipeline_uuid": pipeline_uuid})
    return result.get("value") or {}


def set_global_variable(pipeline_uuid, key, value, **kwargs):
    """Writes `value` into the pipeline's metadata.yaml `variables`, as Mage does; blocks that
    start later in the run see it."""
    current().call("variables.set_global", {"pipeline_uuid": pipeline_uuid, "key": key,
                                            "value": value})


def delete_global_variable(pipeline_uuid, key, **kwargs):
    current().call("variables.set_global", {"pipeline_uuid": pipeline_uuid, "key": key,
                                            "delete": True})
