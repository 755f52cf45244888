"""Prescription-safety decision support: RL agents under missing patient data."""
