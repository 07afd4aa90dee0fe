"""Lambda entry points: parse the event, call the pipeline, return. Nothing else."""
