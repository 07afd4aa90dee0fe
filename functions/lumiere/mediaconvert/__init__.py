"""AWS Elemental MediaConvert as a second transcoding engine, the pure half: the same plan
(ladder rungs, audio renditions, poster) as a CreateJob request, and the job's
EventBridge completion event read back into an asset's outputs. No AWS imports here: the
adapter is lumiere.cloud.mediaconvert, the steps lumiere.pipeline.mediaconvert."""
