"""Random matrix theory: Marchenko-Pastur law and fits, free convolution, deformed Wigner spectra."""
