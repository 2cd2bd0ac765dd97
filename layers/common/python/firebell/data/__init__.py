"""Data access: pynamodb models and the DynamoDB implementation of the IncidentStore port."""
