"""Simulated hardware backends: the sim camera, the simulated LED bank, ready-made sim configs."""
