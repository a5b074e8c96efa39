"""The live room's WebSocket side: gateway, fan-out, snapshots, moderation."""
