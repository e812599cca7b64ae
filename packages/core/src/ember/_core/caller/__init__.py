"""What a process that calls into the runtime holds: its client, values, args."""
