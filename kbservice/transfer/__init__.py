"""Moving data in and out: backup and restore, seeds, legacy text import."""
