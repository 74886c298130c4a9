"""Staff accounts, login sessions, roles and the helpers other modules use to check them."""
