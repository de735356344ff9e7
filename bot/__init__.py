"""The intake assistant app: channels, conversation routing, data and the caseworker queue."""
