"""A local stack of real servers (Kafka, PostgreSQL) for development and tests."""
