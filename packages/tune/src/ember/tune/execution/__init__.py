"""The experiment loop: trial actors, the controller and the experiment state file."""
