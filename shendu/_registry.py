"""Name -> object lookup shared by the string-configurable namespaces.

Strings resolve only through these tables, never through imports, so a
configuration (or a saved file) cannot make shendu load arbitrary code.
"""
import difflib
import re


def lookup(kind, table, identifier):
    """``table[identifier]`` or a ValueError naming the closest valid name."""
    key = identifier
    if key in table:
        return table[key]
    lowered = {k.lower(): v for k, v in table.items()}
    if isinstance(key, str) and key.lower() in lowered:
        return lowered[key.lower()]
    close = difflib.get_close_matches(str(key), list(table), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ValueError(f"Unknown {kind}: '{identifier}'.{hint} "
                     f"Valid names: {', '.join(sorted(table))}")


def snake_case(name):
    """Keras's default layer names: 'MaxPooling2D' -> 'max_pooling2d', 'Dense' -> 'dense'."""
    # An uppercase letter starts a new word only when a lowercase run follows it
    # ('Pooling'), or when it follows a lowercase letter ('xY'); digits glue on.
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
