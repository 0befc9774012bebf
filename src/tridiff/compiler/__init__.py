"""The compiler: a SymPy formula (f, its derivatives, their switches) lowered to one fused JAX kernel."""
