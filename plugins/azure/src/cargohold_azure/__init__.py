"""The Azure Blob Storage artifact store flavor for cargohold."""

__version__ = "0.1.0"
