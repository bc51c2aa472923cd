"""Recovery functions (installed as ``vmha.functions``): one recovery step per module, Lambda-style handlers."""
