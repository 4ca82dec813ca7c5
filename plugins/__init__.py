"""Built-in plugins that are not tasks: proposers and trackers."""
