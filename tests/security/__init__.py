"""Attack tests: each reproduces an attack (it failed on the code before the fix) and checks it now fails."""
