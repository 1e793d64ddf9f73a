"""Arrowhead's ScaleIO emulator: a test double for EMC ScaleIO daemons and CLIs (not the product)."""
