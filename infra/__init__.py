"""Local infrastructure: real Apache Kafka (KRaft) and FerretDB as processes, no Docker."""
