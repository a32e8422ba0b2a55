"""Smart-home apps: apps and their users, homes, rooms and members, device sharing (QR login)."""
