## Telegram-specific strings (bot command descriptions, group replies). Owned by the Telegram adapter.
