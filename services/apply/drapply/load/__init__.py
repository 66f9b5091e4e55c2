"""``drapply load``: instantiate the DR database as the source's image at one SCN.

The configured tables are copied as of SCN *S* chunk by chunk (each chunk's rows and the
record that it is done commit together in the target, so a crash resumes without
copying a finished chunk again), then each schema's checkpoint is seeded at *S*: apply
reads past every transaction committed at or before *S* and applies the rest. The start
point capture needs (the oldest transaction open at *S*) is printed, and a capture whose
checkpoint already lies past it is refused.
"""
