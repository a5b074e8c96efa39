"""The live room's pure core: the hub port, event shapes, chat rules, throttles, the ticker.

Nothing here imports FastAPI, Redis or SQLAlchemy: adapters (shop/adapters/memory_hub.py,
redis_hub.py) carry events between instances, and server/live/ holds the WebSocket side.
"""
