"""Singer tap for Braze."""
