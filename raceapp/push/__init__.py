"""Web Push delivery: the durable outbox and the workers that drain it.

Modules: vapid (keys and tokens), message (payload and headers), outbox (the delivery rows),
sender (HTTP), worker (the loop). Devices subscribe through raceapp.devices.
"""
