"""Random matrix theory: Marchenko-Pastur law and bulk fits, free convolution with the
semicircle, deformed Wigner spectra."""
