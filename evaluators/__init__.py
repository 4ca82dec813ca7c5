"""Built-in tasks, one package each: seed artifact, `evaluate`, task spec."""
