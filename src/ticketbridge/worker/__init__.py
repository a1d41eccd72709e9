"""Background work: task bodies, the runners that execute them, and periodic schedules."""
