"""Small reusable widgets of the window."""
