"""Articles: reading, publishing revisions, drafts, history, audit, locales, freshness."""
