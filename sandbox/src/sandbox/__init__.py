"""Local, faithful fakes of the Klaviyo, Braze, Iterable and Brevo APIs."""

from .app import Sandbox

__all__ = ["Sandbox"]
