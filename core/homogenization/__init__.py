"""Numerical homogenization with rough coefficients: fine P1 reference, rough polyharmonic
spline (RPS) bases, global and localized, and the coarse P1 baseline (REFERENCE.md 1)."""
