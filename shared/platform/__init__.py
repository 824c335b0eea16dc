"""What a service process runs on: runtime, Kafka, database, clock, settings, registry, ports."""
