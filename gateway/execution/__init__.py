"""Running an admitted action: at most once under its key, one attempt at a time."""
