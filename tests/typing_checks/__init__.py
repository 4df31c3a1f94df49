"""Files whose point is what type checkers infer; tests run them too."""
