"""What leaves the system for other systems: appointment reminders (e-mail, and events the
webhooks deliver)."""
