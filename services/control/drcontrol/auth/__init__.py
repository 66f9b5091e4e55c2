"""Who is calling and what they may do: tokens, roles, TOTP second factor."""
