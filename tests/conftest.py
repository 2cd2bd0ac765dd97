"""Suite-wide settings."""

from hypothesis import HealthCheck, settings

# Property tests judge behaviour, never speed: on a busy machine an example may take longer than
# hypothesis' default 200 ms deadline, and data generation may be slow.
settings.register_profile("firebell", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("firebell")
