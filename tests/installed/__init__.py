"""The built wheel and sdist, installed into fresh environments as a user installs them."""
