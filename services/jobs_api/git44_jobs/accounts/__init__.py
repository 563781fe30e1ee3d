"""A user's jobs-side data as a whole: exported on request, forgotten when they leave."""
