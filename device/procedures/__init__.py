"""Rig procedures outside the live loop: calibration references and the dataset capture protocol."""
