"""The training loop behind ``Model.fit``: ``Trainer`` and the data adapters."""
