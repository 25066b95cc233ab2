"""followup: reminds a job seeker when, and how, to follow up after an interview."""

__version__ = "0.1.0"
