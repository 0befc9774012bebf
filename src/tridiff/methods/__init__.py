"""The methods: symbolic, automatic and numeric derivatives (one variable, several, sampled data) and the
high-precision reference they are measured against."""
