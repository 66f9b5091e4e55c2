"""The pipeline benchmark: RAC redo written as LGWR writes it -> the real capture service
-> real Kafka -> the real apply service -> PostgreSQL, at a fixed offered load or flat out.

``python -m bench.pipeline.run --help``; what it measures and how: bench/README.md,
"pipeline".
"""
