"""Content storage for file items: a local folder by default, S3 in production."""
