"""Search strategies: which parent to mutate next, and which children to keep."""
