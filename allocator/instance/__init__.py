"""Instances: the schema of DESIGN.md section 3, files (JSON, CSV, XLSX) and validation."""
