"""Search across the rooms a person may see: challenges by title, ideas and messages by
their words (the database's own full-text search), with the matching words marked."""
