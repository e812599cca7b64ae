"""Model building blocks for the default RLModules."""
