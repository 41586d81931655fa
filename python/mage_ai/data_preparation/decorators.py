"""Identity decorators, as in Mage (mage_ai/data_preparation/decorators.py): they let a block
file be imported or linted outside a run. In a run, the block file's namespace already holds
collector decorators, so the `if 'data_loader' not in globals()` guards skip these."""


def _identity(function):
    return function


callback = condition = custom = data_exporter = data_loader = extension = _identity
sensor = transformer = test = on_success = on_failure = _identity
data_source = xy = x = y = configuration = render = columns = _identity
data_integration_destination = data_integration_source = data_integration_catalog = _identity
data_integration_config = data_integration_selected_streams = data_integration_query = _identity
preprocesser_functions = _identity


def streaming_source(cls):
    return cls


def streaming_sink(cls):
    return cls


def collect_decorated_objs(decorated_objs):
    def decorator(obj):
        decorated_objs.append(obj)
        return obj

    return decorator
