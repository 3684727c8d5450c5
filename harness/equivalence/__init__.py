"""The equivalence proofs: the numpy reference (forward and training), and comparing frameworks
with it and with each other (layer outputs, parameter counts, training steps)."""
