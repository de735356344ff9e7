"""Channels: each one verifies and parses its webhooks into ``InboundMessage`` and renders
``Reply`` objects for its medium. They all feed ``bot.conversation.ConversationService``."""
