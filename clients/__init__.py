"""Not installed: app-side code and what runs it in the tests."""
