"""Singer target for Brevo."""
