"""Hydra sweepers of the cdss project (Hydra discovers plugins in the hydra_plugins package)."""
