"""The product catalog (lifecycle, aliases, labels), where it is stored, and system facts."""
