"""What several vendor folders share: payload building blocks."""
