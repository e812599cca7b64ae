"""Worker processes: the template that forks them, and task execution."""
