"""Reading a definition: text, a SymPy expression or a NumPy / jax.numpy callable becomes a Function."""
