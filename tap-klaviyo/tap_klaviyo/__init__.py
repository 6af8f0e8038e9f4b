"""Singer tap for Klaviyo."""
