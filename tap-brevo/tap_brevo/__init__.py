"""tap-brevo: a Singer tap for Brevo (contacts, lists, campaigns with stats, transactional events, ecommerce)."""
