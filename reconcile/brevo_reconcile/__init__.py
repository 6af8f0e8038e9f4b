"""Reconcile a migration into Brevo stage by stage."""
