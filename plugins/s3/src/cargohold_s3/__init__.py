"""The Amazon S3 (and S3-compatible) artifact store flavor for cargohold."""

__version__ = "0.1.0"
